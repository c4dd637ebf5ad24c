/**
 * @file `adjoint profile`: profiles training steps of a built-in model (src/models) on random 28×28 images
 * (Fashion-MNIST's shape: nothing to download) and prints ad.profile's tables, by op and by module, and optionally
 * writes the Chrome trace for Perfetto. The first step runs unprofiled, so the tables show a warm step.
 */
import * as ad from '../index.js';
import { buildModel, MODEL_NAMES, type ModelName } from '../models/index.js';
import {
  backendOption,
  choiceOption,
  chooseBackend,
  intOption,
  parseArgs,
  UsageError,
  type ValueOption,
} from './args.js';

/** The model sizes the Fashion-MNIST recipes of `adjoint train` use. */
const HIDDEN: Record<ModelName, number[]> = { mlp: [256], cnn: [16, 32], rnn: [128], attention: [64] };

export const PROFILE_HELP = `adjoint profile — where a training step's time goes, op by op and module by module

Builds one of the built-in models for 28×28 images (the Fashion-MNIST shape, random data, 10 classes), runs one
unprofiled step to warm up, then profiles --steps training steps (zeroGrad, forward, cross-entropy, backward,
Adam step) with ad.profile and prints keyAverages as tables: by op (forward and backward time, self time,
FLOPs, GFLOP/s, bytes allocated) and by module path. Backward time is attributed to the forward op (and module)
whose graph node it ran.

Usage
  adjoint profile [options]          (from a checkout: npx tsx src/cli/main.ts profile [options])

Options
  --model NAME          ${MODEL_NAMES.join(' | ')}                        default mlp
  --steps N             training steps profiled                          default 3
  --batch N             images per step                                  default 64
  --rows N              table rows                                       default 15
  --sort KEY            total | self | forward | backward | calls | flops | bytes   default total
  --trace FILE          also write the Chrome trace (open it at ui.perfetto.dev or chrome://tracing)
  --backend NAME        js | wasm | blas | auto (the fastest here)       default auto (or ADJOINT_BACKEND)
  -h, --help            this help

Exit status
  0 printed · 2 bad usage
`;

const pathOption: ValueOption<string> = {
  parse: (raw, flag) => {
    if (raw.trim() === '') throw new UsageError(`${flag} needs a file name`);
    return raw;
  },
};

const OPTIONS = {
  model: choiceOption<ModelName>(MODEL_NAMES),
  steps: intOption(1),
  batch: intOption(1),
  rows: intOption(1),
  sort: choiceOption<ad.SortBy>(['total', 'self', 'forward', 'backward', 'calls', 'flops', 'bytes']),
  trace: pathOption,
  backend: backendOption,
};

/** Runs `adjoint profile`; returns the exit status. */
export function profileCommand(argv: readonly string[], out: (s?: string) => void): number {
  const a = parseArgs('profile', argv, OPTIONS);
  if (a.help) {
    out(PROFILE_HELP);
    return 0;
  }
  chooseBackend(a.backend);
  const name = a.model ?? 'mlp';
  const steps = a.steps ?? 3;
  const batch = a.batch ?? 64;
  ad.manualSeed(0);
  const model = buildModel(name, { channels: 1, height: 28, width: 28, classes: 10 }, { hidden: HIDDEN[name] });
  const opt = new ad.optim.Adam(model.parameters(), { lr: 1e-3 });
  const x = ad.randn([batch, 1, 28, 28]);
  const y = ad.randint(0, 10, [batch]);
  const step = () => ad.trainStep(opt, () => ad.nn.functional.crossEntropy(model.forward(x), y));
  step();
  const prof = ad.profile(
    () => {
      for (let i = 0; i < steps; i++) ad.profiler.record(`step ${i}`, step);
    },
    { memory: true },
  );
  out(
    `adjoint profile  ${name} (hidden ${HIDDEN[name].join(',')}), batch ${batch}, ${steps} step(s) on the ` +
      `${ad.getBackend()} backend, ${(prof.wallMs / steps).toFixed(1)} ms per step while profiled`,
  );
  out();
  out('By op (calls a/b: forward calls / backward nodes; backward time goes to the op whose node it ran)');
  out(prof.table({ sortBy: a.sort ?? 'total', rowLimit: a.rows ?? 15 }));
  out();
  out('By module (inclusive of submodules; the outermost by class name)');
  out(prof.table({ groupBy: 'module', sortBy: a.sort ?? 'total', rowLimit: a.rows ?? 15 }));
  if (a.trace) {
    prof.exportChromeTrace(a.trace);
    out();
    out(`trace written to ${a.trace} (${prof.events.length} events): open it at ui.perfetto.dev or chrome://tracing`);
  }
  return 0;
}
