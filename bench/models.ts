/**
 * @file `npm run bench:models`: a quick timer for the four model training steps of issue 10 (bench/lib/models.ts),
 * for use while optimising one of them — in this process, no peers, one line per model × backend × thread count:
 * the median step time, the median forward time (timed alternately with the step) and backward ÷ forward, backward
 * being step − forward (so it includes zeroGrad and the SGD update). `npm run bench -- --only models` times the same
 * models beside PyTorch.
 *
 *   npx tsx bench/models.ts [--model mlp,cnn,transformer,lstm] [--backend blas,wasm,js] [--threads 1,2] [--reps N]
 *
 * Defaults: every model; every available backend but js (the reference takes seconds per step); 1 thread; repeats to
 * a time budget (1.5 s, at least 5 timed calls unless those pass 8 s) unless --reps fixes the count.
 */
import os from 'node:os';
import { intOption, parseArgs, UsageError, type ValueOption } from '../src/cli/args.js';
import * as ad from '../src/index.js';
import { errMessage, type MeasureOptions, measurePair } from './lib/measure.js';
import { buildModel, MODELS, type ModelName } from './lib/models.js';

const USAGE =
  'Usage: npx tsx bench/models.ts [--model mlp,cnn,transformer,lstm] [--backend blas,wasm,js] [--threads 1,2] [--reps N]';

const list: ValueOption<string[]> = {
  parse: (raw, f) => {
    const parts = raw.split(',').map((s) => s.trim());
    if (parts.some((p) => p === '')) throw new UsageError(`${f} must be a comma-separated list, got '${raw}'`);
    return parts;
  },
};

let args: ReturnType<typeof parse>;
function parse() {
  return parseArgs('bench:models', process.argv.slice(2), {
    model: list,
    backend: list,
    threads: list,
    reps: intOption(1),
  });
}
try {
  args = parse();
  for (const m of args.model ?? [])
    if (!(MODELS as readonly string[]).includes(m))
      throw new UsageError(`bench:models: --model takes ${MODELS.join(', ')}; got '${m}'`);
  for (const b of args.backend ?? [])
    if (!ad.backendNames().includes(b))
      throw new UsageError(`bench:models: --backend takes ${ad.backendNames().join(', ')} here; got '${b}'`);
  for (const t of args.threads ?? [])
    if (!/^[1-9]\d*$/.test(t)) throw new UsageError(`bench:models: --threads takes whole numbers ≥ 1; got '${t}'`);
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  process.stderr.write(`${e.message}\n${USAGE}\n`);
  process.exit(2);
}
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const models = (args.model ?? [...MODELS]) as ModelName[];
const backends = args.backend ?? ad.backendNames().filter((b) => b !== 'js');
const threadCounts = (args.threads ?? ['1']).map(Number);
const timing: MeasureOptions =
  args.reps !== undefined
    ? { warm: 1, minReps: args.reps, maxReps: args.reps, budgetMs: Infinity, heavyMs: Infinity }
    : { warm: 1, minReps: 5, budgetMs: 1500, heavyMs: 8000 };

const pad = (s: string, n: number) => s.padEnd(n);
const num = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(2));
process.stdout.write(
  `bench:models · node ${process.version} · load ${os.loadavg()[0].toFixed(2)} · ` +
    `${args.reps ? `${args.reps} timed calls` : 'budget 1.5 s, ≥ 5 timed calls'} of step and forward, alternating\n`,
);
for (const backend of backends) {
  ad.setBackend(backend);
  for (const threads of threadCounts) {
    ad.setNumThreads(threads);
    for (const name of models) {
      const head = `${pad(name, 12)} ${pad(backend, 5)} ${threads}T`;
      try {
        const m = buildModel(name);
        const [step, fwd] = measurePair(m.step, m.forward, false, timing);
        const bwd = step.ms - fwd.ms;
        process.stdout.write(
          `${head}  step ${pad(`${num(step.ms)} ms`, 10)} forward ${pad(`${num(fwd.ms)} ms`, 10)} ` +
            `backward÷forward ${(bwd / fwd.ms).toFixed(2)}  (${step.reps}/${fwd.reps} reps)\n`,
        );
      } catch (e) {
        process.stdout.write(`${head}  error: ${errMessage(e)}\n`);
      }
    }
  }
}
