#!/usr/bin/env node
/**
 * @file The `adjoint` command (package.json "bin"; `npm start` runs `adjoint demo`). It imports the library by
 * relative path, so the same file runs under tsx from src/ and compiled from dist/. Exit status: 0 when every check
 * passed, 1 when one failed, 2 for bad usage.
 */
import { readFileSync } from 'node:fs';
import {
  backendOption,
  choiceOption,
  chooseBackend,
  flag,
  intOption,
  parseArgs,
  sizesOption,
  UsageError,
} from './args.js';
import { type Activation, DEMO_DEFAULTS, type DemoOptions, type FloatDType, runDemo } from './demo.js';
import {
  EXPLAIN_DEFAULTS,
  type ExplainActivation,
  type ExplainCliOptions,
  type ExplainLoss,
  runExplain,
} from './explain.js';
import { PROFILE_HELP, profileCommand } from './profile.js';
import { colorEnabled, makeStyle } from './term.js';
import { TRAIN_HELP, terminalIO, trainCommand } from './train.js';

const HELP = `adjoint — TypeScript deep learning where every op is a forward map plus its adjoint

Usage
  adjoint demo [options]    backprop through Y = X·W + b: every shape, explicit products, finite
                            differences, the adjoint identity, and forward vs backward timing
  adjoint explain [options] an MLP's backward pass as adjoint equations with shapes
                            (dW1 = Xᵀ · dH1 …), in the order backward runs them; --dot for Graphviz
  adjoint train [options]   train an MLP, CNN, RNN or transformer on digits or Fashion-MNIST with a
                            progress bar, per-epoch accuracy, SVG curves and resumable checkpoints
  adjoint profile [options] a training step of a built-in model, profiled: forward vs backward per op
                            and per module, FLOPs, memory; --trace writes a Perfetto trace
  adjoint help [command]    this help, or a command's (also: adjoint [command] --help)
  adjoint --version         the package version

From a checkout: npm start (the demo with its defaults), npm start -- --layers 784,512,10.
Run 'adjoint demo --help', 'adjoint explain --help', 'adjoint train --help' or 'adjoint profile --help' for a
command's options.
`;

const EXPLAIN_HELP = `adjoint explain — an MLP's backward pass, written as adjoint equations with shapes

Builds X → Linear → activation → … → Linear → loss with every tensor named (X, W1, b1, H1 = X·W1 + b1,
A1 = act(H1), …, the targets T and the loss L), runs the forward pass, and prints ad.explain(L): the
recorded ops, then one line per gradient in the order backward computes them, each with its operands'
shapes, e.g.
  dW1 = Xᵀ · dH1            [784×128]·[128×512] → [784×512]
  db1 = Σ_rows dH1          [128×512] → [512]
Unnamed intermediates (inside the loss) are t1, t2, … in the order they ran. Nothing is trained.

Usage
  adjoint explain [options]          (from a checkout: npx tsx src/cli/main.ts explain [options])

Options
  --layers W0,W1,...    layer widths, input first                       default ${EXPLAIN_DEFAULTS.widths.join(',')}
  --activation NAME     relu | sigmoid | tanh | gelu, between layers    default ${EXPLAIN_DEFAULTS.activation}
  --batch N             rows of X                                       default ${EXPLAIN_DEFAULTS.batch}
  --loss NAME           cross-entropy | mse                             default ${EXPLAIN_DEFAULTS.loss}
  --seed S              random seed (ad.manualSeed)                     default ${EXPLAIN_DEFAULTS.seed}
  --dot                 print the graph as Graphviz DOT (ad.toDot) instead:
                        adjoint explain --dot | dot -Tsvg > mlp.svg
  -h, --help            this help

Exit status
  0 printed · 2 bad usage
`;

const EXPLAIN_OPTIONS = {
  layers: sizesOption(2),
  activation: choiceOption<ExplainActivation>(['relu', 'sigmoid', 'tanh', 'gelu']),
  batch: intOption(1),
  loss: choiceOption<ExplainLoss>(['cross-entropy', 'mse']),
  seed: intOption(0),
  dot: flag,
};

const DEMO_HELP = `adjoint demo — backprop through Y = X·W + b, the Rosetta stone

The forward multiplies by W, the backward by Wᵀ: dX = dY·Wᵀ and dW = Xᵀ·dY. The bias broadcast over rows
in the forward becomes a sum over rows in the backward: db = Σᵢ dYᵢ. The demo prints every shape and
equation, checks autograd's .grad against those explicit products, against central finite differences
(float64) and against the adjoint identity ⟨X·W, U⟩ = ⟨X, U·Wᵀ⟩, then times forward against backward.

Usage
  adjoint demo [options]             (from a checkout: npm start -- [options])

Options
  --n N                 rows of X (the batch)                           default ${DEMO_DEFAULTS.n}
  --d D                 input features: X is n×d, W is d×m, b is m      default ${DEMO_DEFAULTS.widths[0]}
  --m M                 output features: Y is n×m                       default ${DEMO_DEFAULTS.widths[1]}
  --layers W0,W1,...    a chain of Linear layers W0→W1→…→Wk instead of --d/--m, e.g. 784,512,10;
                        prints each layer's backward equation in the order the chain rule applies them
  --activation NAME     relu | sigmoid | tanh, between layers           default ${DEMO_DEFAULTS.activation}
  --dtype DTYPE         float32 | float64 for the timing (checks are always float64)
                                                                        default ${DEMO_DEFAULTS.dtype}
  --seed S              random seed (ad.manualSeed)                     default ${DEMO_DEFAULTS.seed}
  --runs R              timed passes, median reported                   default: ~2 s worth, at least 3
  --no-timing           the checks only
  --verbose             also print the tensors of the checked problem
  --backend NAME        js | wasm | blas | auto (the fastest here)      default auto (or ADJOINT_BACKEND)
  -h, --help            this help

Sizes
  The checks run at the requested size when finite differences are affordable there (they take two
  forward passes per parameter element; the limit is 2·10⁷ multiply-adds in all). Otherwise they run at a
  teaching size, n=4 with widths 3→2 (3→5→…→2 for a chain), where every dim differs so every printed
  product's shapes are unambiguous. The timing always runs at the requested size, in --dtype.

Output
  ✓ / ✗ per check; colour only when stdout is a terminal (NO_COLOR turns it off, FORCE_COLOR on).
  Peak memory is an upper bound on the bytes tensor storages held at once during one forward + backward:
  the inputs plus every storage the pass allocated (ad.trackMemory + ad.memoryStats, gc() before the pass).

Exit status
  0 every check passed · 1 a check failed · 2 bad usage
`;

const DEMO_OPTIONS = {
  n: intOption(1),
  d: intOption(1),
  m: intOption(1),
  layers: sizesOption(2),
  activation: choiceOption<Activation>(['relu', 'sigmoid', 'tanh']),
  dtype: choiceOption<FloatDType>(['float32', 'float64']),
  seed: intOption(0),
  runs: intOption(1),
  'no-timing': flag,
  verbose: flag,
  backend: backendOption,
};

function version(): string {
  // package.json sits two levels up from both src/cli/ and dist/cli/.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Runs the CLI on argv (without node and the script); resolves to the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  const out = (s = '') => process.stdout.write(`${s}\n`);
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '-h' || command === '--help') {
      out(HELP);
      return command === undefined ? 2 : 0;
    }
    if (command === '--version' || command === '-v') {
      out(version());
      return 0;
    }
    if (command === 'help') {
      if (rest[0] === 'demo') out(DEMO_HELP);
      else if (rest[0] === 'explain') out(EXPLAIN_HELP);
      else if (rest[0] === 'train') out(TRAIN_HELP);
      else if (rest[0] === 'profile') out(PROFILE_HELP);
      else if (rest[0] === undefined) out(HELP);
      else
        throw new UsageError(
          `help: unknown command '${rest[0]}'; the commands are demo, explain, train, profile and help`,
        );
      return 0;
    }
    if (command === 'demo') {
      const a = parseArgs('demo', rest, DEMO_OPTIONS);
      if (a.help) {
        out(DEMO_HELP);
        return 0;
      }
      if (a.layers && (a.d !== undefined || a.m !== undefined))
        throw new UsageError('demo: give either --layers or --d/--m, not both (--layers 784,512,10 sets every width)');
      const opts: DemoOptions = {
        ...DEMO_DEFAULTS,
        n: a.n ?? DEMO_DEFAULTS.n,
        widths: a.layers ?? [a.d ?? DEMO_DEFAULTS.widths[0], a.m ?? DEMO_DEFAULTS.widths[1]],
        activation: a.activation ?? DEMO_DEFAULTS.activation,
        dtype: a.dtype ?? DEMO_DEFAULTS.dtype,
        seed: a.seed ?? DEMO_DEFAULTS.seed,
        runs: a.runs,
        timing: !a['no-timing'],
        verbose: a.verbose ?? false,
      };
      chooseBackend(a.backend);
      const ok = await runDemo(opts, out, makeStyle(colorEnabled()));
      return ok ? 0 : 1;
    }
    if (command === 'explain') {
      const a = parseArgs('explain', rest, EXPLAIN_OPTIONS);
      if (a.help) {
        out(EXPLAIN_HELP);
        return 0;
      }
      const opts: ExplainCliOptions = {
        widths: a.layers ?? EXPLAIN_DEFAULTS.widths,
        activation: a.activation ?? EXPLAIN_DEFAULTS.activation,
        batch: a.batch ?? EXPLAIN_DEFAULTS.batch,
        loss: a.loss ?? EXPLAIN_DEFAULTS.loss,
        seed: a.seed ?? EXPLAIN_DEFAULTS.seed,
        dot: a.dot ?? false,
      };
      return runExplain(opts, out, makeStyle(colorEnabled()));
    }
    if (command === 'train') return trainCommand(rest, terminalIO(makeStyle(colorEnabled())));
    if (command === 'profile') return profileCommand(rest, out);
    throw new UsageError(`unknown command '${command}'; the commands are demo, explain, train, profile and help`);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(
        `adjoint: ${e.message}\nRun 'adjoint ${['demo', 'explain', 'train', 'profile'].includes(command) ? `${command} ` : ''}--help' for usage.\n`,
      );
      return 2;
    }
    throw e;
  }
}

// `adjoint demo | head` closes the pipe early: stop quietly, as other command-line tools do.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`adjoint: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
