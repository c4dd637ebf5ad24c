/**
 * @file `npm run bench`: adjoint side by side with TensorFlow.js (cpu, wasm), jax-js (wasm, jit and eager) and PyTorch
 * (CPU, via /usr/bin/python3 and scripts/bench_torch.py) on the same CPU cases: SGEMM/DGEMM (plain and with A
 * transposed), the linear layer's forward and backward, an MLP's SGD step, the per-op autograd chain and a conv2d's
 * forward + backward, at one and two threads. Each system at each thread count runs in its own child process
 * (bench/child.ts): some peers fix their thread pools at start-up, and a crash costs one column, not the run.
 *
 * Two sections are adjoint against PyTorch only. `models`: the four training steps of issue 10 (bench/lib/models.ts:
 * MLP, CNN, transformer encoder layer, LSTM; SGD, lr 0.01), each timed as a full step and as its forward alone,
 * alternately; backward ÷ forward is (step − forward) ÷ forward, so the backward includes zeroGrad and the SGD update.
 * On the blas and wasm backends (js, the reference, takes seconds a step: `npm run bench:models -- --backend js`).
 * `memory`: 200 MLP steps, adjoint's fast backends and PyTorch each in a fresh process at the first thread count,
 * RSS after setup (model, data, one step) and the peak after (getrusage's maxRSS); adjoint twice per backend, with
 * plain steps and with each step in ad.trainStep's scope (its own process: maxRSS only ever rises).
 *
 * Options: --quick (sizes to 512, shorter budgets), --only gemm,linear,mlp,chain,conv,models,memory, --systems a,b
 * (substrings of the column names: adjoint-wasm, tfjs, jax-jit, torch, …), --threads 1,2, --no-torch. Raw results go
 * to .tmp/bench-results.json; a Markdown summary for docs/BENCHMARKS.md is printed last.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { flag, parseArgs, UsageError, type ValueOption } from '../src/cli/args.js';
import { table } from '../src/cli/term.js';
import * as ad from '../src/index.js';
import {
  errMessage,
  GEMM_SIZES,
  GEMM_SIZES_QUICK,
  gemmId,
  MEMORY_ID,
  MEMORY_SCOPED_ID,
  type MemoryResult,
  MODEL_MEMORY_STEPS,
  MODEL_NAMES,
  modelId,
  RESULT_PREFIX,
  type Result,
  type RunRecord,
  SECTIONS,
  type Section,
} from './lib/measure.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PYTHON = '/usr/bin/python3';
const USAGE =
  'Usage: npm run bench -- [--quick] [--only gemm,linear,mlp,chain,conv,models,memory] [--systems a,b] ' +
  '[--threads 1,2] [--no-torch]';

const list: ValueOption<string[]> = {
  parse: (raw, f) => {
    const parts = raw.split(',').map((s) => s.trim());
    if (parts.some((p) => p === '')) throw new UsageError(`${f} must be a comma-separated list, got '${raw}'`);
    return parts;
  },
};
let args: ReturnType<typeof parse>;
function parse() {
  return parseArgs('bench', process.argv.slice(2), {
    quick: flag,
    only: list,
    systems: list,
    threads: list,
    'no-torch': flag,
  });
}
try {
  args = parse();
  for (const s of args.only ?? [])
    if (!(SECTIONS as readonly string[]).includes(s))
      throw new UsageError(`bench: --only takes ${SECTIONS.join(', ')}; got '${s}'`);
  for (const t of args.threads ?? [])
    if (!/^[1-9]\d*$/.test(t)) throw new UsageError(`bench: --threads takes whole numbers ≥ 1; got '${t}'`);
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  process.stderr.write(`${e.message}\n${USAGE}\n`);
  process.exit(2);
}
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const quick = args.quick === true;
const sections = (args.only ?? [...SECTIONS]) as Section[];
const threadCounts = (args.threads ?? ['1', '2']).map(Number);
const print = (s = '') => process.stdout.write(`${s}\n`);

/**
 * The columns: every adjoint backend, then the peers. Single-threaded systems appear at thread count 1 only. The
 * peers have no `models` or `memory` cases; `memory` runs in processes of its own (memoryPlan), never here.
 */
interface Plan {
  system: string;
  threads: number[];
  sections: Section[];
}
const ADJOINT_ONLY: readonly Section[] = ['models', 'memory'];
const plan: Plan[] = [
  ...ad.backendNames().map((b) => ({
    system: `adjoint-${b}`,
    threads: b === 'js' ? [1] : threadCounts,
    // The js reference would take minutes over the model steps: bench:models times them there on request.
    sections: sections.filter((s) => s !== 'memory' && (b !== 'js' || s !== 'models')),
  })),
  ...[
    { system: 'tfjs-cpu', threads: [1] }, // plain JS kernels: one thread
    { system: 'tfjs-wasm', threads: [1] }, // tfjs turns wasm threads off under Node
    { system: 'jax-jit', threads: threadCounts },
    { system: 'jax-eager', threads: threadCounts },
  ].map((p) => ({ ...p, sections: sections.filter((s) => !ADJOINT_ONLY.includes(s)) })),
].map((p) => ({ ...p, threads: p.threads.filter((t) => threadCounts.includes(t)) }));
const wanted = (name: string) => !args.systems || args.systems.some((s) => name.includes(s));
/** The memory section's adjoint backends, two processes each (plain, scoped): the js reference would take minutes. */
const memoryPlan = sections.includes('memory') ? ad.backendNames().filter((b) => b !== 'js') : [];
const memoryThreads = threadCounts[0];

const cpuModel =
  (existsSync('/proc/cpuinfo') && /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim()) ||
  os.cpus()[0]?.model.trim() ||
  'unknown CPU';
const envVars = Object.entries(process.env)
  .filter(([k]) => k.startsWith('OPENBLAS') || k === 'OMP_NUM_THREADS' || k === 'MKL_NUM_THREADS')
  .map(([k, v]) => `${k}=${v}`)
  .sort();
const when = new Date();

print('adjoint side-by-side CPU benchmark');
print(
  `  ${when.toISOString().replace('T', ' ').slice(0, 16)} UTC · node ${process.version} · ${cpuModel} ` +
    `(${os.cpus().length} cores) · threads ${threadCounts.join(', ')}${quick ? ' · --quick' : ''}`,
);
print(`  adjoint backends: ${ad.backendNames().join(', ')}`);
print(`  environment: ${envVars.length ? envVars.join(' ') : 'no OPENBLAS_*/OMP_NUM_THREADS/MKL_NUM_THREADS set'}`);

/** A failed or missing run: every case reads 'err' with why. */
const failed = (system: string, threads: number, why: string): RunRecord =>
  ({
    system,
    threads,
    version: '?',
    notes: [],
    results: {},
    error: why,
  }) as RunRecord;

/**
 * Node 20's V8 has relaxed SIMD behind this flag, and the peers (tfjs-wasm, jax-js) compile their wasm without setting
 * it as our backend does; Node 22 and 24 ship relaxed SIMD and reject the flag as a bad option. So the children get it
 * where this Node takes it.
 */
const RELAXED_FLAG =
  spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', '-e', '']).status === 0
    ? ['--experimental-wasm-relaxed-simd']
    : [];

/** One system in a child process (bench/child.ts); `scoped`: the memory section's steps run through ad.trainStep. */
function runChild(system: string, threads: number, only: readonly Section[], scoped = false): Promise<RunRecord> {
  const argv = [...RELAXED_FLAG, '--import', 'tsx', path.join(ROOT, 'bench', 'child.ts')];
  argv.push('--system', system, '--threads', String(threads), '--only', only.join(','));
  if (quick) argv.push('--quick');
  if (scoped) argv.push('--scoped');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), (quick ? 180 : 400) * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = out
        .split('\n')
        .reverse()
        .find((l) => l.startsWith(RESULT_PREFIX));
      if (line) return resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as RunRecord);
      const why = err.trim().split('\n').pop() ?? '';
      resolve(failed(system, threads, `child exited (${signal ?? `code ${code}`}): ${why.slice(0, 200)}`));
    });
  });
}

/** PyTorch at thread counts ts on the given sections, one process per thread count. */
function runTorch(ts: readonly number[], only: readonly Section[]): RunRecord[] {
  const why = args['no-torch']
    ? '--no-torch'
    : !existsSync(PYTHON)
      ? `${PYTHON} not found`
      : spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status !== 0
        ? `torch is not importable by ${PYTHON}`
        : null;
  if (why) return ts.map((t) => ({ ...failed('torch', t, why), skipped: why }) as RunRecord);
  // One process per thread count: this torch build's set_num_threads does not reach the OpenBLAS its matmuls
  // call, so OpenBLAS's own variable has to be set before the library loads (measured: "1 thread" ran on 2).
  return ts.map((t) => {
    const argv = [path.join(ROOT, 'scripts', 'bench_torch.py'), '--threads', String(t), '--only', only.join(',')];
    if (quick) argv.push('--quick');
    const env = { ...process.env, OPENBLAS_NUM_THREADS: String(t), OMP_NUM_THREADS: String(t) };
    const r = spawnSync(PYTHON, argv, { encoding: 'utf8', timeout: 600_000, cwd: ROOT, env });
    try {
      const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
        version: string;
        notes: string[];
        runs: Record<string, Record<string, Result>>;
      };
      return { system: 'torch', threads: t, version: j.version, notes: j.notes, results: j.runs[t] };
    } catch (e) {
      const msg = (r.stderr || r.error?.message || errMessage(e)).trim().split('\n').pop() ?? '';
      return failed('torch', t, `PyTorch did not run: ${msg.slice(0, 200)}`);
    }
  });
}

const records: RunRecord[] = [];
/**
 * The memory section's runs, apart from the tables' columns, one process each: its record and the case id it ran
 * (MEMORY_SCOPED_ID for adjoint's scoped variant), so a run that failed still says which variant it was.
 */
interface MemoryRun {
  rec: RunRecord;
  id: typeof MEMORY_ID | typeof MEMORY_SCOPED_ID;
}
const memRuns: MemoryRun[] = [];
const plural = (t: number) => `${t} thread${t > 1 ? 's' : ''}`;
const torchSections = sections.filter((s) => s !== 'memory');
for (const p of plan)
  for (const t of p.threads) {
    if (!wanted(p.system) || p.sections.length === 0) continue;
    const t0 = performance.now();
    process.stdout.write(`  measuring ${p.system} at ${plural(t)}… `);
    const rec = await runChild(p.system, t, p.sections);
    records.push(rec);
    print(`${((performance.now() - t0) / 1000).toFixed(1)} s${(rec as { error?: string }).error ? ' (failed)' : ''}`);
  }
if (wanted('torch') && torchSections.length > 0) {
  const t0 = performance.now();
  process.stdout.write(
    `  measuring torch at ${threadCounts.join(', ')} thread${threadCounts.length > 1 || threadCounts[0] > 1 ? 's' : ''}… `,
  );
  records.push(...runTorch(threadCounts, torchSections));
  print(`${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
for (const b of memoryPlan)
  for (const scoped of [false, true]) {
    if (!wanted(`adjoint-${b}`)) continue;
    process.stdout.write(
      `  memory of ${MODEL_MEMORY_STEPS} MLP steps, adjoint-${b}${scoped ? ' scoped' : ''} at ${plural(memoryThreads)}… `,
    );
    const t0 = performance.now();
    const rec = await runChild(`adjoint-${b}`, memoryThreads, ['memory'], scoped);
    memRuns.push({ rec, id: scoped ? MEMORY_SCOPED_ID : MEMORY_ID });
    print(`${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
if (memoryPlan.length > 0 && wanted('torch')) {
  process.stdout.write(`  memory of ${MODEL_MEMORY_STEPS} MLP steps, torch at ${plural(memoryThreads)}… `);
  const t0 = performance.now();
  for (const rec of runTorch([memoryThreads], ['memory'])) memRuns.push({ rec, id: MEMORY_ID });
  print(`${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

// ——— tables ———

const LABEL: Record<string, string> = { 'tfjs-cpu': 'tfjs-cpu', 'tfjs-wasm': 'tfjs-wasm', torch: 'PyTorch' };
const label = (s: string) => LABEL[s] ?? s;
const family = (s: string) => (s.startsWith('adjoint') ? 'adjoint' : s.startsWith('tfjs') ? 'tfjs' : s.split('-')[0]);
const PEERS = ['torch', 'tfjs', 'jax'] as const;
const PEER_NAME: Record<string, string> = { torch: 'PyTorch', tfjs: 'tfjs', jax: 'jax-js' };

/** Footnotes: each distinct error gets a number, printed under the section's tables. */
let notes: string[] = [];
function cellOf(rec: RunRecord, id: string): Result {
  const e = (rec as { error?: string }).error;
  if (e) return (rec as { skipped?: string }).skipped ? { skip: e } : { err: e };
  return rec.results[id] ?? { skip: 'not run' };
}
function errMark(rec: RunRecord, msg: string): string {
  const text = `${label(rec.system)} ${rec.threads}T: ${msg}`;
  let i = notes.indexOf(text);
  if (i < 0) i = notes.push(text) - 1;
  return `err[${i + 1}]`;
}

/** How a case's time becomes the number in the table, and which way is better. */
interface Row {
  id: string;
  label: string;
  /** From ms per call to the printed quantity. */
  value: (ms: number) => number;
  digits: number;
  /** true: bigger is better (GFLOP/s); the ratio is adjoint ÷ peer. false: times; the ratio is peer ÷ adjoint. */
  higher: boolean;
  /** Systems left out of the ratio columns for this row (jax-jit fuses the chain: not per-op overhead). */
  noRatio?: string[];
}

function cellValue(rec: RunRecord, row: Row): number | null {
  const r = cellOf(rec, row.id);
  return 'ms' in r ? row.value(r.ms) : null;
}

function bestOf(recs: RunRecord[], row: Row): number | null {
  let best: number | null = null;
  for (const r of recs) {
    const v = cellValue(r, row);
    if (v !== null && (best === null || (row.higher ? v > best : v < best))) best = v;
  }
  return best;
}

const fmt = (v: number, d: number) => (Math.abs(v) >= 1000 ? v.toFixed(0) : v.toFixed(d));
const ratioStr = (r: number) => (r >= 10 ? `${r.toFixed(0)}×` : `${r.toFixed(2)}×`);

/** The rows × systems at one thread count, with 'adjoint best ÷ peer' columns; markdown=true for docs. */
function sectionTable(rows: Row[], threads: number, markdown = false): string[] {
  const recs = records.filter((r) => r.threads === threads);
  if (recs.length === 0) return [];
  const ours = recs.filter((r) => family(r.system) === 'adjoint');
  const peers = PEERS.filter((p) => recs.some((r) => family(r.system) === p));
  const head = ['', ...recs.map((r) => label(r.system)), ...peers.map((p) => `adjoint÷${PEER_NAME[p]}`)];
  const body = rows.map((row) => {
    const cells = recs.map((rec) => {
      const r = cellOf(rec, row.id);
      if ('ms' in r) return fmt(row.value(r.ms), row.digits);
      if ('err' in r) return markdown ? 'err' : errMark(rec, r.err);
      return '—';
    });
    const a = bestOf(ours, row);
    const ratios = peers.map((p) => {
      const b = bestOf(
        recs.filter((r) => family(r.system) === p && !row.noRatio?.includes(r.system)),
        row,
      );
      if (a === null || b === null || a === 0 || b === 0) return '—';
      return ratioStr(row.higher ? a / b : b / a);
    });
    return [row.label, ...cells, ...ratios];
  });
  if (!markdown) return table([head, ...body]);
  const md = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [md(head), md(head.map((_, i) => (i === 0 ? ':--' : '--:'))), ...body.map(md)];
}

const sizes = quick ? GEMM_SIZES_QUICK : GEMM_SIZES;
const gemmRows: Row[] = [];
for (const dtype of ['float32', 'float64'] as const)
  for (const transA of [false, true])
    for (const n of sizes)
      gemmRows.push({
        id: gemmId(dtype, transA, n),
        label: `${dtype === 'float32' ? 'f32' : 'f64'} ${transA ? 'Aᵀ·B' : 'A·B'} n=${n}`,
        value: (ms) => (2 * n ** 3) / (ms / 1000) / 1e9,
        digits: 1,
        higher: true,
      });
const ms = (id: string, lbl: string, digits = 1): Row => ({ id, label: lbl, value: (x) => x, digits, higher: false });
// 1000 ops per chain (plus one sum): µs per op = ms per chain.
const usPerOp = (id: string, lbl: string): Row => ({
  id,
  label: lbl,
  value: (x) => x,
  digits: 2,
  higher: false,
  noRatio: ['jax-jit'],
});
/** The sections printed as rows × systems; `models` and `memory` have tables of their own (below). */
type RowSection = Exclude<Section, 'models' | 'memory'>;
const SECTION_ROWS: Record<RowSection, { title: string; unit: string; rows: Row[] }> = {
  gemm: {
    title: 'GEMM C = A·B, square n×n (A·B: contiguous; Aᵀ·B: A is A.mT of a contiguous tensor)',
    unit: 'GFLOP/s (2n³ / median time); ratio columns: adjoint best ÷ peer best (>1: adjoint faster)',
    rows: gemmRows,
  },
  linear: {
    title: 'Linear layer Y = X·W + b, X [256×1024], W [1024×1024], float32; backward from a random dY',
    unit: 'ms per pass (median); ratio columns: peer ÷ adjoint (>1: adjoint faster)',
    rows: [ms('linear.fwd', 'forward'), ms('linear.fwdbwd', 'forward + backward')],
  },
  mlp: {
    title: 'MLP 784-512-512-10 (ReLU), batch 128, cross-entropy: one SGD step (zeroGrad, forward, backward, step)',
    unit: 'ms per step (median); ratio columns: peer ÷ adjoint',
    rows: [ms('mlp.step', 'SGD step')],
  },
  chain: {
    title: 'Per-op chain: 500 × (x·1.0001 + 0.0001) on a 4-element float32 tensor (1000 ops), then sum',
    unit: 'µs per op (median); forward records the graph where the system has one; ratio columns: peer ÷ adjoint',
    rows: [usPerOp('chain.fwd', 'forward'), usPerOp('chain.fwdbwd', 'forward + backward')],
  },
  conv: {
    title: 'conv2d: x [32×3×32×32] → 64 channels, kernel 3, padding 1, float32; forward + backward (dW, db)',
    unit: 'ms per pass (median); ratio columns: peer ÷ adjoint',
    rows: [ms('conv.fwdbwd', 'forward + backward')],
  },
};

// ——— models and memory: adjoint blas and wasm against PyTorch ———

const MODEL_LABEL: Record<(typeof MODEL_NAMES)[number], string> = {
  mlp: 'MLP 784-512-512-10, b128',
  cnn: 'CNN 2×(conv3-relu-pool)-linear, b64, 28×28',
  transformer: 'Transformer enc. layer d128 h4 ff512, seq 64, b16',
  lstm: 'LSTM in 64, hidden 256, seq 50, b32',
};

/**
 * One row per model at one thread count: step ms on adjoint blas, adjoint wasm and PyTorch, blas ÷ torch,
 * wasm ÷ blas, blas's step inside ad.trainStep (its buffers pooled) and its ratio to torch, backward ÷ forward ((step − forward) ÷ forward) on blas and on torch, and at more than one thread
 * blas's speed-up over its own 1-thread step. markdown=true writes 'err' for a failure instead of a footnote mark.
 */
function modelsTable(threads: number, markdown: boolean): string[][] {
  const find = (system: string, t = threads) => records.find((r) => r.system === system && r.threads === t);
  const cell = (rec: RunRecord | undefined, id: string): { v: number | null; text: string } => {
    if (!rec) return { v: null, text: '—' };
    const r = cellOf(rec, id);
    if ('ms' in r) return { v: r.ms, text: fmt(r.ms, 1) };
    if ('err' in r) return { v: null, text: markdown ? 'err' : errMark(rec, r.err) };
    return { v: null, text: '—' };
  };
  const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? '—' : ratioStr(a / b));
  const speedup = threads > 1 && threadCounts.includes(1);
  const head = ['model step', 'adjoint blas ms', 'adjoint wasm ms', 'PyTorch ms', 'blas÷torch', 'wasm÷blas'];
  head.push('blas trainStep ms', 'trainStep÷torch');
  head.push('bwd÷fwd blas', 'bwd÷fwd torch', ...(speedup ? [`blas ${threads}T speed-up`] : []));
  const [blas, wasm, torch] = ['adjoint-blas', 'adjoint-wasm', 'torch'].map((sys) => find(sys));
  const bwdFwd = (rec: RunRecord | undefined, m: string) => {
    const st = cell(rec, modelId(m, 'step')).v;
    const fw = cell(rec, modelId(m, 'fwd')).v;
    return st === null || fw === null || fw === 0 ? '—' : ((st - fw) / fw).toFixed(2);
  };
  const body = MODEL_NAMES.map((m) => {
    const [b, w, t] = [blas, wasm, torch].map((rec) => cell(rec, modelId(m, 'step')));
    const row = [MODEL_LABEL[m], b.text, w.text, t.text, ratio(b.v, t.v), ratio(w.v, b.v)];
    const scoped = cell(blas, modelId(m, 'scoped'));
    row.push(scoped.text, ratio(scoped.v, t.v));
    row.push(bwdFwd(blas, m), bwdFwd(torch, m));
    if (speedup) row.push(ratio(cell(find('adjoint-blas', 1), modelId(m, 'step')).v, b.v));
    return row;
  });
  return [head, ...body];
}

const mib = (v: number) => v.toFixed(1);
/** The memory section: one row per process (adjoint's scoped variant as its own row), and growth ÷ PyTorch's. */
function memoryTable(markdown: boolean): string[][] {
  const torch = memRuns.find((m) => m.rec.system === 'torch')?.rec;
  const torchCell = torch && cellOf(torch, MEMORY_ID);
  const torchGrowth = torchCell && 'growthMiB' in torchCell ? torchCell.growthMiB : null;
  const head = [`${MODEL_MEMORY_STEPS} MLP steps`, 'RSS after setup MiB', 'peak RSS MiB', 'peak − setup MiB'];
  head.push('÷ PyTorch’s');
  return [
    head,
    ...memRuns.map(({ rec, id }) => {
      const r = cellOf(rec, id);
      const name = `${label(rec.system)} ${rec.threads}T${id === MEMORY_SCOPED_ID ? ', scoped' : ''}`;
      if (!('growthMiB' in r)) {
        const why = 'err' in r ? (markdown ? 'err' : errMark(rec, r.err)) : '—';
        return [name, why, why, why, '—'];
      }
      const m = r as MemoryResult;
      const vs = rec.system === 'torch' || torchGrowth === null ? '—' : ratioStr(m.growthMiB / torchGrowth);
      return [name, mib(m.setupMiB), mib(m.peakMiB), mib(m.growthMiB), vs];
    }),
  ];
}
const mdTable = (rows: string[][]) => {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(rows[0]), line(rows[0].map((_, i) => (i === 0 ? ':--' : '--:'))), ...rows.slice(1).map(line)];
};

for (const s of sections) {
  notes = [];
  if (s === 'models') {
    print();
    print('Model training steps (bench/lib/models.ts): zeroGrad, forward, loss, backward, SGD step (lr 0.01)');
    print('  ms per step (median; step and forward timed alternately); bwd÷fwd = (step − forward) ÷ forward;');
    print('  trainStep = the same step inside ad.trainStep, whose scope returns its buffers to the pool');
    print('  (not on the js reference backend: `npm run bench:models -- --backend js` times it there)');
    for (const t of threadCounts) {
      print(`  ${plural(t)}:`);
      table(modelsTable(t, false)).forEach((l) => print(l));
    }
    notes.forEach((n, i) => print(`  [${i + 1}] ${n}`));
    continue;
  }
  if (s === 'memory') {
    print();
    print(
      `Memory: ${MODEL_MEMORY_STEPS} MLP training steps, each system in a fresh process at ${plural(memoryThreads)}`,
    );
    print('  setup = imports, model, data and one step; peak = getrusage maxRSS after the steps');
    print('  scoped: each step is ad.trainStep(opt, () => loss), its buffers released to the pool as it ends');
    table(memoryTable(false)).forEach((l) => print(l));
    notes.forEach((n, i) => print(`  [${i + 1}] ${n}`));
    continue;
  }
  const { title, unit, rows } = SECTION_ROWS[s];
  print();
  print(title);
  print(`  ${unit}`);
  for (const t of threadCounts) {
    const lines = sectionTable(rows, t);
    if (lines.length === 0) continue;
    print(`  ${t} thread${t > 1 ? 's' : ''}:`);
    lines.forEach((l) => print(l));
  }
  if (s === 'linear')
    for (const t of threadCounts)
      for (const r of records.filter((x) => x.threads === t)) {
        const f = cellOf(r, 'linear.fwd');
        const fb = cellOf(r, 'linear.fwdbwd');
        if ('ms' in f && 'ms' in fb)
          print(
            `  ${label(r.system)} ${t}T: backward ${(fb.ms - f.ms).toFixed(1)} ms = ${((fb.ms - f.ms) / f.ms).toFixed(2)}× forward`,
          );
      }
  notes.forEach((n, i) => print(`  [${i + 1}] ${n}`));
}

print();
print('Notes');
const seen = new Set<string>();
for (const r of [...records, ...memRuns.map((m) => m.rec)]) {
  const why = (r as { error?: string }).error;
  const lines = [
    `${label(r.system)} ${r.threads}T: ${r.version}${r.variant ? `, ${r.variant}` : ''}${why ? ` — ${why}` : ''}`,
    ...r.notes,
  ];
  for (const l of lines) if (!seen.has(l)) seen.add(l) && print(`  ${l}`);
}
const skips = new Set<string>();
for (const r of records)
  for (const v of Object.values(r.results ?? {})) if ('skip' in v) skips.add(`${label(r.system)}: ${v.skip}`);
for (const s of skips) print(`  — ${s}`);

mkdirSync(path.join(ROOT, '.tmp'), { recursive: true });
const outFile = path.join(ROOT, '.tmp', 'bench-results.json');
writeFileSync(
  outFile,
  `${JSON.stringify(
    {
      date: when.toISOString(),
      node: process.version,
      cpu: cpuModel,
      cores: os.cpus().length,
      loadavg: os.loadavg(),
      env: envVars,
      threads: threadCounts,
      quick,
      sections,
      runs: records,
      memory: memRuns.map(({ rec, id }) => ({ case: id, ...rec })),
    },
    null,
    1,
  )}\n`,
);
print(`  raw results: ${path.relative(process.cwd(), outFile)}`);

// ——— Markdown for docs/BENCHMARKS.md: the headline rows, each family's best column ———
print();
print('Markdown (for docs/BENCHMARKS.md)');
print();
print(
  `${when.toISOString().slice(0, 10)}, node ${process.version}, ${cpuModel} (${os.cpus().length} cores), ` +
    `threads ${threadCounts.join(' and ')}${quick ? ', --quick' : ''}. Each cell is the best system of its family ` +
    `(adjoint: ${ad.backendNames().join('/')} backends; tfjs: cpu/wasm; jax-js: jit/eager).`,
);
print();
const headline: Row[] = [];
if (sections.includes('gemm'))
  for (const n of sizes.filter((x) => x >= 512 || sizes.length <= 3)) {
    const r = gemmRows.find((g) => g.id === gemmId('float32', false, n))!;
    headline.push({ ...r, label: `SGEMM n=${n} (GFLOP/s)` });
  }
if (sections.includes('gemm')) {
  const n = sizes[sizes.length - 1];
  headline.push({
    ...gemmRows.find((g) => g.id === gemmId('float32', true, n))!,
    label: `SGEMM Aᵀ·B n=${n} (GFLOP/s)`,
  });
  headline.push({ ...gemmRows.find((g) => g.id === gemmId('float64', false, n))!, label: `DGEMM n=${n} (GFLOP/s)` });
}
for (const s of ['linear', 'mlp', 'chain', 'conv'] as const)
  if (sections.includes(s))
    for (const r of SECTION_ROWS[s].rows)
      headline.push({ ...r, label: `${s} ${r.label} (${s === 'chain' ? 'µs/op' : 'ms'})` });
const fams = ['adjoint', ...PEERS];
const cols = threadCounts.flatMap((t) => fams.map((f) => ({ f, t })));
const mdCols = cols.filter(({ f, t }) => records.some((r) => r.threads === t && family(r.system) === f));
const md = (cells: string[]) => `| ${cells.join(' | ')} |`;
if (headline.length > 0) {
  print(md(['', ...mdCols.map(({ f, t }) => `${f === 'adjoint' ? 'adjoint' : PEER_NAME[f]} ${t}T`)]));
  print(md(['', ...mdCols.map(() => '--:')]).replace('|  |', '| :-- |'));
  for (const row of headline) {
    const cells = mdCols.map(({ f, t }) => {
      const v = bestOf(
        records.filter((r) => r.threads === t && family(r.system) === f),
        row,
      );
      return v === null ? '—' : fmt(v, row.digits);
    });
    print(md([row.label, ...cells]));
  }
}
if (sections.includes('models'))
  for (const t of threadCounts) {
    print();
    print(
      `Model training steps, ${plural(t)} (ms per SGD step, median; trainStep = the step inside ad.trainStep; ` +
        `bwd÷fwd = (step − forward) ÷ forward` +
        `${t > 1 && threadCounts.includes(1) ? `; speed-up = blas 1-thread step ÷ ${t}-thread step` : ''}):`,
    );
    print();
    mdTable(modelsTable(t, true)).forEach((l) => print(l));
  }
if (memRuns.length > 0) {
  print();
  print(
    `Memory of ${MODEL_MEMORY_STEPS} MLP steps, each in a fresh process at ${plural(memoryThreads)} ` +
      '(setup = imports, model, data, one step; peak = maxRSS after the steps; scoped = each step in ad.trainStep):',
  );
  print();
  mdTable(memoryTable(true)).forEach((l) => print(l));
}
