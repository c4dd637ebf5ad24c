/**
 * @file One system at one thread count, for bench/compare.ts, which starts this file as a child process per column:
 * `node --import tsx bench/child.ts --system adjoint-wasm --threads 2 [--quick] [--only gemm,chain] [--scoped]`
 * (--scoped: the memory section's steps run through ad.trainStep). Prints one line, `RESULT {json}` (a RunRecord),
 * last on stdout; libraries' own chatter may come before it.
 */
import { errMessage, type Options, RESULT_PREFIX, type RunRecord, SECTIONS, type Section } from './lib/measure.js';
import { runSystem, type System } from './lib/system.js';

async function makeSystem(name: string, threads: number): Promise<System> {
  if (name.startsWith('adjoint-')) {
    const { adjointSystem } = await import('./systems/adjoint.js');
    return adjointSystem(name.slice('adjoint-'.length), threads);
  }
  if (name === 'tfjs-cpu' || name === 'tfjs-wasm') {
    const { tfjsSystem } = await import('./systems/tfjs.js');
    return tfjsSystem(name === 'tfjs-cpu' ? 'cpu' : 'wasm');
  }
  if (name === 'jax-jit' || name === 'jax-eager') {
    const { jaxSystem } = await import('./systems/jax.js');
    return jaxSystem(name === 'jax-jit' ? 'jit' : 'eager', threads);
  }
  throw new Error(`unknown system '${name}'`);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const get = (k: string) => {
    const i = argv.indexOf(`--${k}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const name = get('system') ?? '';
  const threads = Number(get('threads') ?? 1);
  const only = get('only');
  const opts: Options = {
    quick: argv.includes('--quick'),
    sections: new Set((only ? only.split(',') : SECTIONS) as Section[]),
    scoped: argv.includes('--scoped'),
  };
  let record: RunRecord;
  try {
    const sys = await makeSystem(name, threads);
    record = await runSystem(name, threads, sys, opts);
  } catch (e) {
    // The system did not start: every case reads 'err' with this message.
    record = { system: name, threads, version: '?', notes: [], results: {}, ...{ error: errMessage(e) } };
  }
  process.stdout.write(`\n${RESULT_PREFIX}${JSON.stringify(record)}\n`);
  // Worker pools (jax-js, tfjs) would keep the event loop alive.
  process.exit(0);
}

await main();
