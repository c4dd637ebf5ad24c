/**
 * @file `npm run bench`: what autograd costs per op, and the linear layer's forward against its backward. A script,
 * never a test (timings are not assertions). The per-op chain is 500 × `x = x.mul(1.0001).add(0.0001)` on a
 * 4-element float32 tensor, 1000 ops, then a sum: the tensors are so small that every microsecond is bookkeeping
 * (dispatch, shape rules, allocation, graph recording, the backward walk), not arithmetic. When /usr/bin/python3
 * has torch, the same chain runs there (one thread) and the ratio is printed beside ours.
 *
 * The profiler's cost: an MLP training step (784-512-512-10, batch 128, SGD; the models benchmark's MLP) timed
 * plain, inside ad.profile, and inside ad.profile with memory: true, interleaved step by step so drift hits all
 * three alike; the ratios are what profiling costs. (With no profile active the hooks are one branch each: compare
 * the chain figures above across commits.)
 *
 * Options: --reps N (timed linear-layer passes, default 5), --chain-reps N (timed chains, default 300),
 * --no-torch, --json (also print the figures as JSON).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { flag, intOption, parseArgs, UsageError } from '../src/cli/args.js';
import { colorEnabled, makeStyle, median, table } from '../src/cli/term.js';
import * as ad from '../src/index.js';

const TARGET_FWD_US = 2;
const TARGET_FWD_BWD_US = 5;
const LINKS = 500;
const OPS = 2 * LINKS;
const [N, D, M] = [256, 1024, 1024];

let args: ReturnType<typeof parse>;
function parse() {
  return parseArgs('bench', process.argv.slice(2), {
    reps: intOption(1),
    'chain-reps': intOption(1),
    'no-torch': flag,
    json: flag,
  });
}
try {
  args = parse();
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  process.stderr.write(`${e.message}\nUsage: npm run bench -- [--reps N] [--chain-reps N] [--no-torch] [--json]\n`);
  process.exit(2);
}
if (args.help) {
  process.stdout.write('Usage: npm run bench -- [--reps N] [--chain-reps N] [--no-torch] [--json]\n');
  process.exit(0);
}
const linReps = args.reps ?? 5;
const chainReps = args['chain-reps'] ?? 300;
const style = makeStyle(colorEnabled());

/** A timing: the median, and the best run (less disturbed by other processes on a busy machine). */
interface Timing {
  median: number;
  best: number;
}

/** Milliseconds per call of fn over reps calls, after warm-up calls. */
function time(fn: () => void, warm: number, reps: number): Timing {
  for (let i = 0; i < warm; i++) fn();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    ts.push(performance.now() - t0);
  }
  return { median: median(ts), best: Math.min(...ts) };
}

function chain(x: ad.Tensor): ad.Tensor {
  for (let i = 0; i < LINKS; i++) x = x.mul(1.0001).add(0.0001);
  return x.sum();
}

interface Figures {
  /** µs per op */
  fwdNoGraph: Timing;
  fwdGraph: Timing;
  fwdBwd: Timing;
  /** ms per pass of the linear layer */
  linFwd: Timing;
  linFwdBwd: Timing;
}

function measureAdjoint(): Figures {
  ad.manualSeed(0);
  const plain = ad.rand([4]);
  const leaf = ad.rand([4]).requiresGrad_();
  const warm = Math.max(20, chainReps >> 3);
  const us = (t: Timing): Timing => ({ median: (t.median * 1000) / OPS, best: (t.best * 1000) / OPS });
  const fwdNoGraph = us(time(() => chain(plain), warm, chainReps));
  const fwdGraph = us(time(() => chain(leaf), warm, chainReps));
  const fwdBwd = us(time(() => chain(leaf).backward(), warm, chainReps));

  const X = ad.randn([N, D]).requiresGrad_();
  const W = ad
    .randn([D, M])
    .mul(1 / Math.sqrt(D))
    .requiresGrad_();
  const b = ad.randn([M]).requiresGrad_();
  const U = ad.randn([N, M]);
  const linFwd = time(() => X.matmul(W).add(b), 1, linReps);
  const linFwdBwd = time(
    () => {
      for (const t of [X, W, b]) t.grad = null;
      X.matmul(W).add(b).backward(U);
    },
    1,
    linReps,
  );
  return { fwdNoGraph, fwdGraph, fwdBwd, linFwd, linFwdBwd };
}

function measureProfiler(reps: number) {
  ad.manualSeed(0);
  const nn = ad.nn;
  const model = new nn.Sequential(
    new nn.Linear(784, 512),
    new nn.ReLU(),
    new nn.Linear(512, 512),
    new nn.ReLU(),
    new nn.Linear(512, 10),
  );
  const opt = new ad.optim.SGD(model.parameters(), { lr: 0.01 });
  const x = ad.randn([128, 784]);
  const y = ad.randint(0, 10, [128]);
  const step = () => ad.trainStep(opt, () => nn.functional.crossEntropy(model.forward(x), y));
  const runs = {
    plain: step,
    profiled: () => ad.profile(step),
    memory: () => ad.profile(step, { memory: true }),
  };
  const ts: Record<keyof typeof runs, number[]> = { plain: [], profiled: [], memory: [] };
  for (let i = 0; i < 5; i++) for (const f of Object.values(runs)) f();
  for (let i = 0; i < reps; i++)
    for (const [k, f] of Object.entries(runs) as [keyof typeof runs, () => unknown][]) {
      const t0 = performance.now();
      f();
      ts[k].push(performance.now() - t0);
    }
  const t = (xs: number[]): Timing => ({ median: median(xs), best: Math.min(...xs) });
  return {
    plain: t(ts.plain),
    profiled: t(ts.profiled),
    memory: t(ts.memory),
    events: ad.profile(step).events.length,
  };
}

const PYTHON = '/usr/bin/python3';
const TORCH_SCRIPT = `
import json, statistics, sys, time
import torch
torch.set_num_threads(1)
links, chain_reps, lin_reps = (int(a) for a in sys.argv[1:4])
N, D, M = 256, 1024, 1024

def timed(fn, warm, reps):
    for _ in range(warm):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return {"median": statistics.median(ts) * 1000, "best": min(ts) * 1000}

def chain(x):
    for _ in range(links):
        x = x.mul(1.0001).add(0.0001)
    return x.sum()

torch.manual_seed(0)
plain = torch.rand(4)
leaf = torch.rand(4, requires_grad=True)
warm = max(20, chain_reps >> 3)
us = lambda t: {k: v * 1000 / (2 * links) for k, v in t.items()}
out = {
    "fwdNoGraph": us(timed(lambda: chain(plain), warm, chain_reps)),
    "fwdGraph": us(timed(lambda: chain(leaf), warm, chain_reps)),
    "fwdBwd": us(timed(lambda: chain(leaf).backward(), warm, chain_reps)),
}
X = torch.randn(N, D, requires_grad=True)
W = (torch.randn(D, M) / D ** 0.5).requires_grad_()
b = torch.randn(M, requires_grad=True)
U = torch.randn(N, M)
out["linFwd"] = timed(lambda: X.matmul(W).add(b), 1, lin_reps)
def lin_fwd_bwd():
    for t in (X, W, b):
        t.grad = None
    X.matmul(W).add(b).backward(U)
out["linFwdBwd"] = timed(lin_fwd_bwd, 1, lin_reps)
out["version"] = torch.__version__
print(json.dumps(out))
`;

/** The same measurements in PyTorch (one thread), or why they could not be made. */
function measureTorch(): { figures: Figures; version: string } | { skipped: string } {
  if (args['no-torch']) return { skipped: '--no-torch' };
  if (!existsSync(PYTHON)) return { skipped: `${PYTHON} not found` };
  const r = spawnSync(PYTHON, ['-c', TORCH_SCRIPT, String(LINKS), String(chainReps), String(linReps)], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status !== 0) {
    const why = (r.stderr || r.error?.message || '').trim().split('\n').pop();
    return { skipped: `PyTorch did not run (${why})` };
  }
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as Figures & { version: string };
  return { figures: j, version: j.version };
}

const cpus = os.cpus();
const when = new Date();
print(style.bold('adjoint overhead benchmark'));
print(
  `  ${when.toISOString().replace('T', ' ').slice(0, 16)} UTC · node ${process.version} · ${cpus[0]?.model.trim() ?? 'unknown CPU'} ` +
    `(${cpus.length} cores) · load average ${os.loadavg()[0].toFixed(2)} · ${ad.getBackend()} backend`,
);
print(style.dim('  measuring adjoint…'));
const ours = measureAdjoint();
print(style.dim('  measuring PyTorch…'));
const torch = measureTorch();
const theirs = 'figures' in torch ? torch.figures : null;
print(
  style.dim(
    theirs
      ? `  PyTorch ${(torch as { version: string }).version}, torch.set_num_threads(1)`
      : `  PyTorch skipped: ${(torch as { skipped: string }).skipped}`,
  ),
);

const f2 = (x: number) => x.toFixed(2);
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
const target = (v: number, t: number) => `≤ ${t}  ${style.mark(v <= t)}`;
const diff = (a: Timing, b: Timing): Timing => ({ median: a.median - b.median, best: a.best - b.best });

/** A row: label, ours (median, best), theirs (median, best), ratio of medians, then extra cells. */
function row(label: string, key: (f: Figures) => Timing, fmt: (x: number) => string, extra: string[] = []): string[] {
  const a = key(ours);
  const b = theirs && key(theirs);
  return [
    label,
    fmt(a.median),
    style.dim(fmt(a.best)),
    ...(b ? [fmt(b.median), style.dim(fmt(b.best)), ratio(a.median, b.median)] : []),
    ...extra,
  ];
}
const head = ['', 'adjoint', style.dim('best'), ...(theirs ? ['PyTorch', style.dim('best'), 'adjoint / PyTorch'] : [])];

print();
print(
  style.bold(
    `Per-op overhead: ${LINKS} × x = x.mul(1.0001).add(0.0001), ${OPS} ops on a 4-element float32 tensor, then sum`,
  ),
);
print(style.dim(`  µs per op: the median of ${chainReps} chains after a warm-up, and the best chain`));
table([
  [...head, 'target (median)'],
  row('forward, no graph (requiresGrad false)', (f) => f.fwdNoGraph, f2, ['']),
  row('forward, graph recorded (requiresGrad true)', (f) => f.fwdGraph, f2, [
    target(ours.fwdGraph.median, TARGET_FWD_US),
  ]),
  row('forward + backward', (f) => f.fwdBwd, f2, [target(ours.fwdBwd.median, TARGET_FWD_BWD_US)]),
  row('backward alone (the difference)', (f) => diff(f.fwdBwd, f.fwdGraph), f2, ['']),
]).forEach((l) => print(l));

print();
print(style.bold(`Linear layer Y = X·W + b: ${N}×${D}·${D}×${M} float32, X, W and b require grad`));
print(
  style.dim(`  ms per pass: the median of ${linReps} after 1 warm-up, and the best; backward computes dX, dW and db`),
);
const f1 = (x: number) => x.toFixed(1);
table([
  head,
  row('forward', (f) => f.linFwd, f1),
  row('forward + backward', (f) => f.linFwdBwd, f1),
  row('backward alone (the difference)', (f) => diff(f.linFwdBwd, f.linFwd), f1),
]).forEach((l) => print(l));
const bwdRatio = (f: Figures) => (f.linFwdBwd.median - f.linFwd.median) / f.linFwd.median;
const gflops = (2 * N * D * M) / (ours.linFwd.median / 1000) / 1e9;
print(
  style.dim(
    `  backward / forward: adjoint ${f2(bwdRatio(ours))}${theirs ? `, PyTorch ${f2(bwdRatio(theirs))}` : ''}; ` +
      `adjoint's forward runs at ${gflops.toFixed(2)} GFLOP/s (${ad.getBackend()} backend)`,
  ),
);

// The profiler's cost on an MLP step: plain, profiled, profiled with memory, interleaved.
const profReps = Math.max(10, linReps * 6);
const prof = measureProfiler(profReps);
print();
print(style.bold('Profiler overhead: an MLP step 784-512-512-10, batch 128, SGD, float32'));
print(
  style.dim(
    `  ms per step: the median of ${profReps} of each after warm-up, interleaved (plain, profiled, with memory)`,
  ),
);
table([
  ['', 'ms', style.dim('best'), '÷ plain', 'target'],
  ['plain step', f2(prof.plain.median), style.dim(f2(prof.plain.best)), '', ''],
  [
    'ad.profile(step)',
    f2(prof.profiled.median),
    style.dim(f2(prof.profiled.best)),
    `${f2(prof.profiled.median / prof.plain.median)}×`,
    target(prof.profiled.median / prof.plain.median, 1.3),
  ],
  [
    'ad.profile(step, { memory: true })',
    f2(prof.memory.median),
    style.dim(f2(prof.memory.best)),
    `${f2(prof.memory.median / prof.plain.median)}×`,
    '',
  ],
]).forEach((l) => print(l));
print(style.dim(`  ${prof.events} events per profiled step`));

if (args.json)
  print(
    JSON.stringify({
      date: when.toISOString(),
      node: process.version,
      cpu: cpus[0]?.model.trim(),
      cores: cpus.length,
      loadavg: os.loadavg()[0],
      backend: ad.getBackend(),
      adjoint: ours,
      pytorch: theirs,
      profiler: prof,
    }),
  );

function print(s = ''): void {
  process.stdout.write(`${s}\n`);
}
