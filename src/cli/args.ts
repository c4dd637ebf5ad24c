/**
 * @file Command-line option parsing for the CLI: `--name value`, `--name=value` and boolean flags, each option
 * declared once with its parser, so an unknown option or a bad value is a UsageError (exit status 2) that says
 * what was expected.
 */

import { backendNames, setBackend } from '../index.js';

/** Bad usage: the message is printed with a pointer to --help and the process exits with status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** An option with a value: parse reads it and throws UsageError naming the expected form. */
export interface ValueOption<T> {
  parse: (raw: string, flag: string) => T;
}
/** A boolean flag: present or not. */
export interface FlagOption {
  parse?: undefined;
}

export type Specs = Record<string, ValueOption<unknown> | FlagOption>;
export type Parsed<S extends Specs> = { [K in keyof S]?: S[K] extends ValueOption<infer T> ? T : boolean };

/** Parses argv against specs; `-h`/`--help` sets `help`. Positional arguments are not accepted. */
export function parseArgs<S extends Specs>(
  command: string,
  argv: readonly string[],
  specs: S,
): Parsed<S> & { help?: boolean } {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') {
      out.help = true;
      continue;
    }
    if (!arg.startsWith('--')) throw new UsageError(`${command}: unexpected argument '${arg}'; options start with --`);
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const spec = Object.hasOwn(specs, name) ? specs[name] : undefined;
    if (!spec) {
      const near = Object.keys(specs).find((k) => k.startsWith(name) || name.startsWith(k));
      throw new UsageError(
        `${command}: unknown option '--${name}'${near ? ` (did you mean --${near}?)` : ''}; ` +
          `the options are ${Object.keys(specs)
            .map((k) => `--${k}`)
            .join(', ')}`,
      );
    }
    if (!spec.parse) {
      if (eq >= 0) throw new UsageError(`${command}: --${name} is a flag and takes no value`);
      out[name] = true;
      continue;
    }
    let raw: string | undefined;
    if (eq >= 0) raw = arg.slice(eq + 1);
    else {
      raw = argv[i + 1];
      if (raw === undefined || raw.startsWith('--'))
        throw new UsageError(`${command}: --${name} needs a value (--${name} VALUE)`);
      i++;
    }
    try {
      out[name] = spec.parse(raw, `--${name}`);
    } catch (e) {
      throw e instanceof UsageError ? new UsageError(`${command}: ${e.message}`) : e;
    }
  }
  return out as Parsed<S> & { help?: boolean };
}

/** A whole number ≥ min. */
export function intOption(min: number): ValueOption<number> {
  return {
    parse: (raw, flag) => {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isInteger(v) || v < min)
        throw new UsageError(`${flag} must be a whole number ≥ ${min}, got '${raw}'`);
      return v;
    },
  };
}

/** One of a fixed set of words. */
export function choiceOption<T extends string>(choices: readonly T[]): ValueOption<T> {
  return {
    parse: (raw, flag) => {
      if (!(choices as readonly string[]).includes(raw))
        throw new UsageError(`${flag} must be one of ${choices.join(', ')}, got '${raw}'`);
      return raw as T;
    },
  };
}

/** A comma-separated list of at least `minLength` whole numbers ≥ 1: `784,512,10`. */
export function sizesOption(minLength: number): ValueOption<number[]> {
  return {
    parse: (raw, flag) => {
      const parts = raw.split(',').map((s) => s.trim());
      const vs = parts.map(Number);
      if (parts.length < minLength || parts.some((p, i) => p === '' || !Number.isInteger(vs[i]) || vs[i] < 1))
        throw new UsageError(
          `${flag} must be at least ${minLength} whole numbers ≥ 1 separated by commas (e.g. 784,512,10), got '${raw}'`,
        );
      return vs;
    },
  };
}

export const flag: FlagOption = {};

/** `--backend NAME`: js | wasm | blas | auto (the fastest here, the default; ADJOINT_BACKEND sets it too). */
export const backendOption: ValueOption<string> = {
  parse: (raw, flag) => {
    const names = ['auto', ...backendNames()];
    if (!names.includes(raw)) throw new UsageError(`${flag} must be one of ${names.join(', ')}, got '${raw}'`);
    return raw;
  },
};

/** Selects the backend a command runs on: the option, else ADJOINT_BACKEND, else the fastest available. */
export function chooseBackend(option: string | undefined): void {
  setBackend(option ?? process.env.ADJOINT_BACKEND ?? 'auto');
}
