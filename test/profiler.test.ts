/**
 * @file The profiler (src/debug/profiler.ts) and the module hooks it builds on (src/nn/hooks.ts): events and their
 * names for a known graph, backward nodes linked to their forward ops, FLOPs equal to the op rules (and every op in
 * the op table has one), bytes and the live-bytes counter back at the baseline after a step that frees everything,
 * nested records, async profiles, the Chrome trace's format, and forward, pre- and full backward hooks with
 * PyTorch's semantics.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ad from '../src/index.js';
import { OP_TESTS } from '../src/ops/registry.js';
import { assertClose } from './helpers.js';
import { build, call, VARIANTS } from './op-variants.js';
import { chromeTraceProblems } from './trace-format.js';

const F = ad.nn.functional;

function known() {
  ad.manualSeed(0);
  const x = ad.randn([4, 3], { requiresGrad: true });
  const w = ad.randn([3, 5], { requiresGrad: true });
  const b = ad.randn([5], { requiresGrad: true });
  return { x, w, b };
}

test('a known graph: one event per op and per backward node, each node linked to the op that recorded it', () => {
  const { x, w, b } = known();
  const prof = ad.profile(() => x.matmul(w).add(b).sum().backward());
  const ops = prof.events.filter((e) => e.kind === 'op');
  assert.deepEqual(
    ops.filter((e) => e.phase === 'forward').map((e) => e.name),
    ['matmul', 'add', 'sum'],
  );
  const nodes = prof.events.filter((e) => e.kind === 'backward');
  assert.deepEqual(
    nodes.map((e) => e.name).sort(),
    ['AccumulateGrad', 'AccumulateGrad', 'AccumulateGrad', 'AddBackward', 'MmBackward', 'SumBackward'].sort(),
  );
  for (const n of nodes.filter((e) => e.name !== 'AccumulateGrad')) {
    const f = prof.events[n.forwardId];
    assert.equal(f.kind, 'op');
    assert.equal(n.op, f.name);
    assert.ok(n.start >= f.start + f.duration, 'backward runs after its forward');
  }
  // Ops a rule runs are inside its node and in the backward phase.
  for (const e of ops.filter((o) => o.phase === 'backward')) assert.equal(prof.events[e.parent].kind, 'backward');
  // Shapes, dtypes and the backend are recorded.
  const mm = ops[0];
  assert.deepEqual(mm.inputShapes, [
    [4, 3],
    [3, 5],
  ]);
  assert.deepEqual(mm.inputDtypes, ['float32', 'float32']);
  assert.equal(mm.backend, ad.getBackend());
  for (const e of prof.events) {
    assert.ok(e.duration >= 0 && e.self >= 0 && e.self <= e.duration + 1e-9, `${e.name} times`);
    if (e.parent >= 0) {
      const p = prof.events[e.parent];
      assert.ok(e.start >= p.start && e.start + e.duration <= p.start + p.duration + 1e-6, `${e.name} inside parent`);
    }
  }
  assert.equal(ad.profiler.isProfiling(), false);
});

test('each event names the backend kernels it called; rows list their forward kernels', () => {
  const { x, w, b } = known();
  const prof = ad.profile(() => x.matmul(w).add(b).exp().sum().backward());
  const op = (name: string) => prof.events.find((e) => e.kind === 'op' && e.name === name)!;
  assert.deepEqual(op('matmul').kernels, ['matmul']);
  assert.deepEqual(op('exp').kernels, ['unary(exp)']);
  assert.deepEqual(op('sum').kernels, ['reduce(sum)']);
  // The kernels of a backward rule's ops are those ops' own: MmBackward runs matmuls.
  const mmBackward = prof.events.find((e) => e.kind === 'backward' && e.op === 'matmul')!;
  const inside = prof.events.filter((e) => e.parent === mmBackward.id).flatMap((e) => e.kernels);
  assert.ok(inside.includes('matmul'), inside.join(' '));
  assert.deepEqual(prof.keyAverages().find((r) => r.key === 'exp')!.kernels, ['unary(exp)']);
  const trace = prof.toChromeTrace().traceEvents as { name: string; args?: { kernels?: string[] } }[];
  assert.deepEqual(trace.find((e) => e.name === 'exp')!.args!.kernels, ['unary(exp)']);
});

test('keyAverages by op: matmul has a forward and a backward, FLOPs from the rules, self times add up', () => {
  const { x, w, b } = known();
  const prof = ad.profile(() => x.matmul(w).add(b).sum().backward());
  const rows = prof.keyAverages();
  const mm = rows.find((r) => r.key === 'matmul')!;
  assert.equal(mm.calls, 1);
  assert.equal(mm.backwardCalls, 1);
  assert.ok(mm.forwardMs > 0 && mm.backwardMs > 0);
  assert.equal(mm.totalMs, mm.forwardMs + mm.backwardMs);
  // matmul's rule: 2·m·n·k; its backward runs two matmuls of the same size.
  assert.equal(mm.forwardFlops, 2 * 4 * 5 * 3);
  assert.equal(mm.backwardFlops, 2 * (2 * 4 * 5 * 3));
  const fwdEvent = prof.events.find((e) => e.name === 'matmul')!;
  assert.equal(fwdEvent.flops, 2 * 4 * 5 * 3);
  // Every op event inside a node counts toward that node's row only, so rows' self times sum to the ops' time.
  const top = prof.events.filter((e) => e.parent < 0);
  const selfSum = rows.reduce((s, r) => s + r.selfMs, 0);
  const topSum = top.reduce((s, e) => s + e.duration, 0);
  assert.ok(Math.abs(selfSum - topSum) < 1e-6, `${selfSum} vs ${topSum}`);
  const table = prof.table({ sortBy: 'flops', rowLimit: 2 });
  assert.match(table, /matmul/);
  assert.match(table, /\(2 shown\)/);
  assert.throws(() => prof.table({ sortBy: 'speed' as never }), /sortBy/);
  assert.throws(() => prof.keyAverages({ groupBy: 'layer' as never }), /groupBy/);
  const byShape = prof.keyAverages({ groupBy: 'shape' });
  assert.ok(byShape.some((r) => r.key === 'matmul [4×3] [3×5]' && r.backwardCalls === 1));
});

test('every op in the op table has a flops rule', () => {
  const missing = new Set<string>();
  for (const op of OP_TESTS)
    for (const s of op.samples.slice(0, 1)) {
      const built = build(s, VARIANTS[0]);
      if (!built) continue;
      const prof = ad.profile(() => {
        const out = call(op, s, built.toInputs(built.leaves));
        if (out.requiresGrad) out.sum().backward();
      });
      for (const e of prof.events) if (e.kind === 'op' && e.flops === null) missing.add(e.name);
    }
  assert.deepEqual([...missing].sort(), []);
});

test('memory: bytes per event, the live-bytes counter and its peak, back at the baseline after a scoped step', () => {
  const model = new ad.nn.Sequential(new ad.nn.Linear(16, 32), new ad.nn.ReLU(), new ad.nn.Linear(32, 4));
  const opt = new ad.optim.SGD(model.parameters(), { lr: 0.1 });
  const x = ad.randn([8, 16]);
  const y = ad.randint(0, 4, [8]);
  const step = () =>
    ad.trainStep(opt, () => {
      return F.crossEntropy(model.forward(x), y);
    });
  step(); // gradients and optimizer state exist before the profiled step
  const prof = ad.profile(step, { memory: true });
  assert.ok(prof.memory.length > 0);
  assert.equal(prof.memory[prof.memory.length - 1].bytes, 0, 'every byte the step took was given back');
  const peak = prof.peakBytes!;
  assert.ok(peak.all > 0);
  const { all, ...split } = peak.atPeak;
  assert.equal(all, peak.all);
  assert.equal(
    Object.values(split).reduce((a, b) => a + b, 0),
    peak.all,
    'the peak splits into its categories exactly',
  );
  assert.ok(peak.atPeak.activations > 0 && peak.max.gradients > 0, JSON.stringify(peak));
  const last = prof.memory[prof.memory.length - 1].byCategory;
  // The step's gradients replace the previous step's (allocated before the profile): the same bytes.
  assert.deepEqual(
    last,
    { activations: 0, gradients: -last.earlier, optimizer: 0, other: 0, earlier: last.earlier },
    'activations and temporaries all given back; new gradients in place of the old',
  );
  assert.ok(last.earlier < 0);
  assert.ok(
    prof.events.some((e) => e.kind === 'optimizer' && e.name === 'SGD.step'),
    'the step is an event',
  );
  const mm = prof.events.find((e) => e.name === 'matmul')!;
  assert.equal(mm.bytes, 8 * 32 * 4, 'the first matmul allocates its [8, 32] float32 output');
  assert.match(prof.table(), /Peak live storage/);
});

test('profiler.record nests, names regions, and without a profile only runs fn', () => {
  const { x, w } = known();
  assert.equal(
    ad.profiler.record('free', () => 7),
    7,
  );
  const prof = ad.profile(() =>
    ad.profiler.record('outer', () => ad.profiler.record('inner', () => x.matmul(w).relu())),
  );
  const [outer, inner] = ['outer', 'inner'].map((n) => prof.events.find((e) => e.name === n)!);
  assert.equal(outer.kind, 'record');
  assert.equal(inner.parent, outer.id);
  for (const n of ['matmul', 'relu']) assert.equal(prof.events.find((e) => e.name === n)!.parent, inner.id);
});

test('async profiles and records; profiles do not nest; a throw leaves the profiler off', async () => {
  const { x, w } = known();
  const prof = await ad.profile(async () => {
    await ad.profiler.record('wait', async () => {
      await new Promise((r) => setTimeout(r, 5));
      x.matmul(w);
    });
  });
  const wait = prof.events.find((e) => e.name === 'wait')!;
  assert.ok(wait.duration >= 4, `${wait.duration}`);
  assert.equal(prof.events.find((e) => e.name === 'matmul')!.parent, wait.id);
  assert.throws(
    () => ad.profile(() => ad.profile(() => 0)),
    (e: Error) => e instanceof ad.ValueError && /already being recorded/.test(e.message),
  );
  assert.throws(() => ad.profile(() => x.matmul(x)), /matmul/);
  assert.equal(ad.profiler.isProfiling(), false);
  await assert.rejects(
    ad.profile(async () => {
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.equal(ad.profiler.isProfiling(), false);
});

test('modules: events and rows by module path, backward attributed to the module whose op recorded it', () => {
  class Block extends ad.nn.Module {
    fc = new ad.nn.Linear(6, 6);
    act = new ad.nn.ReLU();
    override forward(x: ad.Tensor) {
      return this.act.forward(this.fc.forward(x));
    }
  }
  class Net extends ad.nn.Module {
    layers = new ad.nn.ModuleList([new Block(), new Block()]);
    head = new ad.nn.Linear(6, 2);
    override forward(x: ad.Tensor) {
      for (const l of this.layers) x = (l as Block).forward(x);
      return this.head.forward(x);
    }
  }
  const net = new Net();
  const x = ad.randn([3, 6]);
  const prof = ad.profile(() => net.forward(x).sum().backward());
  const paths = prof.events.filter((e) => e.kind === 'module').map((e) => e.name);
  assert.deepEqual(paths, [
    'Net',
    'layers.0 (Block)',
    'layers.0.fc (Linear)',
    'layers.0.act (ReLU)',
    'layers.1 (Block)',
    'layers.1.fc (Linear)',
    'layers.1.act (ReLU)',
    'head (Linear)',
  ]);
  const rows = new Map(prof.keyAverages({ groupBy: 'module' }).map((r) => [r.key, r]));
  assert.equal(rows.get('layers.1.fc (Linear)')!.forwardFlops, 2 * 3 * 6 * 6 + 3 * 6);
  assert.ok(rows.get('layers.1.fc (Linear)')!.backwardCalls >= 2, 'its matmul and add have backward nodes');
  assert.ok(
    rows.get('Net')!.forwardFlops >=
      rows.get('layers.0 (Block)')!.forwardFlops + rows.get('head (Linear)')!.forwardFlops,
  );
  assert.ok(prof.events.some((e) => e.kind === 'op' && e.module === 'head' && e.name === 'matmul'));
  assert.match(prof.table({ groupBy: 'module' }), /layers\.0\.fc/);
});

test('the Chrome trace: complete events, fwdbwd flows, counters, metadata; written by exportChromeTrace', async () => {
  const { x, w, b } = known();
  const prof = ad.profile(() => x.matmul(w).add(b).sum().backward(), { memory: true });
  const trace = JSON.parse(JSON.stringify(prof.toChromeTrace()));
  assert.ok(Array.isArray(trace.traceEvents));
  const phases = new Set(trace.traceEvents.map((e: { ph: string }) => e.ph));
  for (const ph of ['X', 's', 'f', 'C', 'M']) assert.ok(phases.has(ph), `has ph ${ph}`);
  for (const e of trace.traceEvents) {
    assert.equal(typeof e.ph, 'string');
    assert.equal(typeof e.pid, 'number');
    if (e.ph !== 'C') assert.equal(typeof e.tid, 'number');
    if (e.ph !== 'M') assert.ok(typeof e.ts === 'number' && e.ts >= 0);
    if (e.ph === 'X') assert.ok(typeof e.dur === 'number' && e.dur >= 0 && typeof e.name === 'string');
  }
  const starts = trace.traceEvents.filter((e: { ph: string }) => e.ph === 's');
  const ends = trace.traceEvents.filter((e: { ph: string }) => e.ph === 'f');
  assert.equal(starts.length, 3, 'matmul, add and sum each link to their node');
  assert.deepEqual(starts.map((e: { id: number }) => e.id).sort(), ends.map((e: { id: number }) => e.id).sort());
  const { mkdtempSync, readFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const file = join(mkdtempSync(join(tmpdir(), 'adjoint-trace-')), 'step.json');
  prof.exportChromeTrace(file);
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), trace);
  assert.throws(
    () => prof.exportChromeTrace(join(file, 'no-such-dir', 'step.json')),
    (e: Error) => e instanceof ad.AdjointError && /exportChromeTrace: could not write/.test(e.message),
  );
});

test('forward pre-hooks and forward hooks: replace arguments and outputs, removable, in registration order', () => {
  const lin = new ad.nn.Linear(3, 2);
  const x = ad.randn([4, 3]);
  const seen: string[] = [];
  const h1 = lin.registerForwardPreHook((_m, args) => {
    seen.push('pre');
    return [args[0].mul(2)];
  });
  const h2 = lin.registerForwardHook((m, args, out) => {
    seen.push('post');
    assert.equal(m, lin);
    assertClose(args[0].dataSync(), x.mul(2).dataSync(), 0, 0, 'the hook sees the replaced args');
    return out.add(1);
  });
  const want = F.linear(x.mul(2), lin.weight, lin.bias).add(1);
  assertClose(lin.forward(x).dataSync(), want.dataSync(), 1e-6, 1e-6, 'hooks applied');
  assertClose(lin.call(x).dataSync(), want.dataSync(), 1e-6, 1e-6, 'call runs them too');
  assert.deepEqual(seen, ['pre', 'post', 'pre', 'post']);
  h1.remove();
  h2.remove();
  h2.remove();
  assertClose(lin.forward(x).dataSync(), F.linear(x, lin.weight, lin.bias).dataSync(), 1e-6, 1e-6, 'removed');
  assert.notEqual(h1.id, h2.id);
  assert.throws(() => lin.registerForwardHook(3 as never), /registerForwardHook/);
});

test('full backward hooks: gradInput and gradOutput as PyTorch gives them, and a replaced gradInput flows on', () => {
  const lin = new ad.nn.Linear(3, 2);
  const x = ad.randn([4, 3], { requiresGrad: true });
  let got: { gi: (ad.Tensor | null)[]; go: (ad.Tensor | null)[] } | null = null;
  const h = lin.registerFullBackwardHook((m, gi, go) => {
    assert.equal(m, lin);
    got = { gi, go };
    return [gi[0]!.mul(3)];
  });
  const gy = ad.randn([4, 2]);
  lin.forward(x).backward(gy);
  assert.ok(got);
  const { gi, go } = got as { gi: ad.Tensor[]; go: ad.Tensor[] };
  assertClose(go[0].dataSync(), gy.dataSync(), 0, 0, 'gradOutput = dL/dy');
  const dx = gy.matmul(lin.weight.detach());
  assertClose(gi[0].dataSync(), dx.dataSync(), 1e-6, 1e-6, 'gradInput = dL/dy · W');
  assertClose(x.grad!.dataSync(), dx.mul(3).dataSync(), 1e-6, 1e-6, 'the replacement reached x.grad');
  h.remove();
  x.grad = null;
  lin.forward(x).backward(gy);
  assertClose(x.grad!.dataSync(), dx.dataSync(), 1e-6, 1e-6, 'removed');
  // A wrong replacement is the user's mistake, named.
  lin.registerFullBackwardHook(() => [ad.zeros([5])]);
  assert.throws(() => lin.forward(x).backward(gy), /registerFullBackwardHook: .*gradInput\[0\].*shape/);
});

test('a full backward hook on a module whose input needs no gradient runs with the output gradients', () => {
  const lin = new ad.nn.Linear(3, 2);
  let calls = 0;
  lin.registerFullBackwardHook((_m, gi, go) => {
    calls++;
    assert.deepEqual(gi, [null]);
    assert.deepEqual(go[0]!.shape, [4, 2]);
  });
  lin
    .forward(ad.randn([4, 3]))
    .sum()
    .backward();
  assert.equal(calls, 1);
});

test("a model step's trace is valid Trace Event Format: fields per phase, slices nested per thread, flows bound", () => {
  ad.manualSeed(3);
  const model = new ad.nn.Sequential(
    new ad.nn.Conv2d(1, 4, 3, { padding: 1 }),
    new ad.nn.ReLU(),
    new ad.nn.MaxPool2d(2),
    new ad.nn.Flatten(),
    new ad.nn.Linear(4 * 4 * 4, 3),
  );
  const opt = new ad.optim.Adam(model.parameters(), { lr: 1e-3 });
  const x = ad.randn([2, 1, 8, 8]);
  const y = ad.tensor([0, 2], { dtype: 'int64' });
  const prof = ad.profile(
    () => {
      for (let i = 0; i < 2; i++)
        ad.profiler.record(`step ${i}`, () => ad.trainStep(opt, () => F.crossEntropy(model.forward(x), y)));
    },
    { memory: true },
  );
  const trace = JSON.parse(JSON.stringify(prof.toChromeTrace()));
  assert.deepEqual(chromeTraceProblems(trace), []);
  const kinds = new Set(trace.traceEvents.map((e: { cat?: string }) => e.cat));
  for (const k of ['op', 'backward', 'module', 'record', 'optimizer', 'fwdbwd']) assert.ok(kinds.has(k), k);
  // The checker is not vacuous: overlapping slices, a flow without its end and a bad counter are each caught.
  const broken = {
    traceEvents: [
      { name: 'a', ph: 'X', ts: 0, dur: 10, pid: 1, tid: 1 },
      { name: 'b', ph: 'X', ts: 5, dur: 10, pid: 1, tid: 1 },
      { name: 'fwdbwd', ph: 's', id: 7, ts: 1, pid: 1, tid: 1 },
      { name: 'mem', ph: 'C', ts: 1, pid: 1, args: { bytes: 'many' } },
    ],
  };
  const problems = chromeTraceProblems(broken).join('\n');
  assert.match(problems, /'b' overlaps 'a'/);
  assert.match(problems, /flow 7 has no end/);
  assert.match(problems, /counter bytes not a number/);
});

test("threads: each wasm worker's share of a threaded kernel is an event on its own track, inside its op", (t) => {
  const backend = ad.getBackend();
  const threads = ad.getNumThreads();
  ad.setBackend('wasm');
  ad.setNumThreads(2);
  try {
    if (ad.getNumThreads() < 2) return t.skip('one core here: no worker threads');
    const a = ad.randn([256, 256], { requiresGrad: true });
    const b = ad.randn([256, 256], { requiresGrad: true });
    a.matmul(b).sum().backward(); // starts the workers
    const prof = ad.profile(() => a.matmul(b).sum().backward());
    assert.ok(prof.threads.length >= 3, `one share forward, two backward: ${prof.threads.length}`);
    for (const w of prof.threads) {
      assert.equal(w.thread, 1);
      assert.match(w.kernel, /GEMM kernel/);
      const op = prof.events[w.parent];
      assert.equal(op.name, 'matmul');
      // One clock on every thread: the share lies within its op (to a tenth of a millisecond).
      assert.ok(w.start >= op.start - 0.1 && w.start + w.duration <= op.start + op.duration + 0.1, JSON.stringify(w));
    }
    const trace = JSON.parse(JSON.stringify(prof.toChromeTrace()));
    assert.deepEqual(chromeTraceProblems(trace), []);
    assert.ok(trace.traceEvents.some((e: { tid: number; cat?: string }) => e.tid === 2 && e.cat === 'kernel'));
    assert.ok(
      trace.traceEvents.some((e: { name: string; tid: number; args?: { name?: string } }) => {
        return e.name === 'thread_name' && e.tid === 2 && e.args?.name === 'wasm worker 1';
      }),
    );
  } finally {
    ad.setNumThreads(threads);
    ad.setBackend(backend);
  }
});
