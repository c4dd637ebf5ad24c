/**
 * @file Shared test helpers: sample inputs from ArgSpecs, closeness assertions, and error-message assertions.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as ad from '../src/index.js';
import type { Arg, ArgSpec } from '../src/ops/registry.js';

export function spec(a: Arg): ArgSpec {
  return Array.isArray(a) ? { shape: a } : a;
}

/** A float64 (or the spec's dtype) tensor for one sample argument; floats require grad unless grad: false. */
export function makeArg(a: Arg, shapeOverride?: number[]): ad.Tensor {
  const s = spec(a);
  const shape = shapeOverride ?? s.shape;
  const dtype = s.dtype ?? 'float64';
  if (s.values !== undefined) {
    const t = ad.tensor(s.values, { dtype });
    return dtype === 'float64' && s.grad !== false ? t.requiresGrad_(true) : t;
  }
  if (dtype === 'bool') return ad.rand(shape, { dtype: 'float64' }).gt(0.5);
  if (dtype === 'int32' || dtype === 'int64') return ad.randint(s.low ?? 0, s.high ?? 3, shape, { dtype });
  const lo = s.low ?? -2;
  const hi = s.high ?? 2;
  const t = ad
    .rand(shape, { dtype: 'float64' })
    .mul(hi - lo)
    .add(lo);
  return s.grad === false ? t : t.requiresGrad_(true);
}

export function isDiffArg(a: Arg): boolean {
  const s = spec(a);
  return (s.dtype ?? 'float64') === 'float64' && s.grad !== false && s.values === undefined;
}

export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  rtol = 1e-12,
  atol = 1e-12,
  what = '',
) {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} vs ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (a === e) continue;
    assert.ok(Math.abs(a - e) <= atol + rtol * Math.abs(e), `${what}: element ${i}: got ${a}, expected ${e}`);
  }
}

/** Asserts fn throws an error of class `cls` whose message contains every fragment. */
export function assertThrowsMsg(fn: () => unknown, cls: new (...a: any[]) => Error, ...fragments: string[]) {
  let err: unknown = null;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected a ${cls.name}, nothing was thrown`);
  assert.ok(err instanceof cls, `expected a ${cls.name}, got ${(err as Error).name}: ${(err as Error).message}`);
  for (const f of fragments)
    assert.ok((err as Error).message.includes(f), `message "${(err as Error).message}" lacks "${f}"`);
  return err as Error;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `adjoint ...args` from the source tree as `npm start` does, without colour, and collects its output. */
export function cli(...args: string[]): Promise<CliResult> {
  return cliWithEnv({}, ...args);
}

/** cli() with extra environment variables (ADJOINT_BACKEND, ADJOINT_OPENBLAS, …). */
export function cliWithEnv(env: Record<string, string>, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    // FORCE_COLOR is left out, not set to '': Node 22 and later warn on stderr when NO_COLOR and FORCE_COLOR are
    // both set, whatever their values (and the test runner sets FORCE_COLOR for its children on a terminal).
    const { FORCE_COLOR: _, ...inherited } = process.env;
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: { ...inherited, NO_COLOR: '1', ...env },
      timeout: 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** src/index.ts bundled for the browser platform (esbuild, ESM, in memory): what a web app would ship. */
export async function browserBundle(): Promise<string> {
  const { build } = await import('esbuild');
  const r = await build({
    entryPoints: ['src/index.ts'],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent',
  });
  assert.equal(r.errors.length, 0);
  return r.outputFiles[0].text;
}
