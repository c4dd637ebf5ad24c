/**
 * @file Backend selection: the registry, `setBackend`/`getBackend`, and the kernel dispatcher that falls back,
 * kernel by kernel, to the js reference backend (warning once per missing kernel).
 */
import { ValueError } from '../core/errors.js';
import type { Backend, Kernels } from './backend.js';
import { jsBackend } from './js/index.js';

export type { Backend, Kernels, View } from './backend.js';

const registry = new Map<string, Backend>([['js', jsBackend]]);
let active: Backend = jsBackend;
let dispatch: Kernels = jsBackend.kernels as Kernels;
const warned = new Set<string>();

/** Makes a backend selectable by name (the wasm and blas backends register themselves this way). */
export function registerBackend(b: Backend): void {
  registry.set(b.name, b);
}

export function backendNames(): string[] {
  return [...registry.keys()];
}

export function getBackend(): string {
  return active.name;
}

export function activeBackend(): Backend {
  return active;
}

/** Picks the backend every tensor created from now on lives on. */
export function setBackend(name: string): void {
  const b = registry.get(name);
  if (!b) throw new ValueError(`setBackend: unknown backend '${name}'; available: ${backendNames().join(', ')}`);
  active = b;
  dispatch = withFallback(b);
}

function withFallback(b: Backend): Kernels {
  if (b === jsBackend) return jsBackend.kernels as Kernels;
  const out: Record<string, unknown> = {};
  for (const [name, ref] of Object.entries(jsBackend.kernels)) {
    const own = (b.kernels as Record<string, unknown>)[name];
    if (own) out[name] = own;
    else
      out[name] = (...args: unknown[]) => {
        if (!warned.has(`${b.name}.${name}`)) {
          warned.add(`${b.name}.${name}`);
          console.warn(`adjoint: backend '${b.name}' has no '${name}' kernel; using the js reference kernel`);
        }
        return (ref as (...a: unknown[]) => unknown)(...args);
      };
  }
  return out as unknown as Kernels;
}

/** The kernels of the active backend, with reference fallbacks filled in. */
export function kernels(): Kernels {
  return dispatch;
}

const env = typeof process !== 'undefined' ? process.env?.ADJOINT_BACKEND : undefined;
if (env) setBackend(env);
