/**
 * @file ad.optim against PyTorch 1.13 (test/fixtures/parity-optim.json, written by scripts/parity_optim.py): every
 * optimizer option for 5 steps, every scheduler for 30, gradient clipping, and the state-dict format (PyTorch's state
 * loads and continues PyTorch's run). Also: the gradient-accumulation recipe equals one large batch, state dicts
 * round-trip so that resumed training is bit-identical, zeroGrad, addParamGroup, closures and every error.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { assertClose, assertThrowsMsg } from './helpers.js';

const optim = ad.optim;
type Json = Record<string, any>;
const FIXTURE: Json = JSON.parse(readFileSync(new URL('./fixtures/parity-optim.json', import.meta.url), 'utf8'));

const RTOL = 1e-12;
const ATOL = 1e-15;

const f64 = (data: number[], shape: number[]) => ad.tensor(Float64Array.from(data), { dtype: 'float64', shape });

const OPTIMIZERS: Record<string, new (params: any, opts?: any) => ad.optim.Optimizer<any>> = {
  SGD: optim.SGD,
  Adam: optim.Adam,
  AdamW: optim.AdamW,
  RMSprop: optim.RMSprop,
  Adagrad: optim.Adagrad,
};

/** A fixture tensor {shape, data} as a tensor; other values unchanged, recursively (a state dict from the fixture). */
function decode(v: unknown): any {
  if (Array.isArray(v)) return v.map(decode);
  if (v !== null && typeof v === 'object') {
    const o = v as Json;
    if (Array.isArray(o.shape) && Array.isArray(o.data)) return f64(o.data, o.shape);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, decode(x)]));
  }
  return v;
}

/** A state dict as plain JSON data (what a checkpoint file would hold): tensors as {shape, dtype, data}. */
function toJson(sd: unknown): Json {
  return JSON.parse(
    JSON.stringify(sd, (_k, v) =>
      v instanceof ad.Tensor ? { shape: v.shape, dtype: v.dtype, data: Array.from(v.dataSync()) } : v,
    ),
  );
}
function fromJson(v: unknown): any {
  if (Array.isArray(v)) return v.map(fromJson);
  if (v !== null && typeof v === 'object') {
    const o = v as Json;
    if (Array.isArray(o.shape) && typeof o.dtype === 'string' && Array.isArray(o.data))
      return ad.tensor(o.dtype === 'float64' ? Float64Array.from(o.data) : Float32Array.from(o.data), {
        dtype: o.dtype as ad.DType,
        shape: o.shape,
      });
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, fromJson(x)]));
  }
  return v;
}

/** Equal, numbers within RTOL (PyTorch's cos and pow may differ from V8's in the last bit). */
function assertDeepClose(a: unknown, e: unknown, what: string) {
  if (typeof a === 'number' && typeof e === 'number') assertClose([a], [e], RTOL, ATOL, what);
  else if (Array.isArray(a) && Array.isArray(e)) {
    assert.equal(a.length, e.length, `${what}: length`);
    a.forEach((x, i) => assertDeepClose(x, e[i], `${what}[${i}]`));
  } else if (a !== null && e !== null && typeof a === 'object' && typeof e === 'object') {
    assert.deepEqual(Object.keys(a).sort(), Object.keys(e).sort(), `${what}: keys`);
    for (const [k, v] of Object.entries(a)) assertDeepClose(v, (e as Json)[k], `${what}.${k}`);
  } else assert.deepEqual(a, e, what);
}

/** Our state dict (tensors compared by value) against PyTorch's, which may hold a few keys we do not use. */
function assertStateDictMatches(ours: ad.optim.OptimizerStateDict, torch: Json, what: string) {
  const TORCH_ONLY = new Set(['foreach', 'differentiable', 'capturable', 'fused']);
  assert.equal(ours.param_groups.length, torch.param_groups.length, `${what}: groups`);
  ours.param_groups.forEach((g, i) => {
    const t = torch.param_groups[i];
    for (const [k, v] of Object.entries(g)) assertDeepClose(v, t[k], `${what}: param_groups[${i}].${k}`);
    for (const k of Object.keys(t)) if (!(k in g)) assert.ok(TORCH_ONLY.has(k), `${what}: we lack group key ${k}`);
  });
  assert.deepEqual(Object.keys(ours.state).sort(), Object.keys(torch.state).sort(), `${what}: state ids`);
  for (const [id, s] of Object.entries(ours.state)) {
    const t = torch.state[id];
    assert.deepEqual(Object.keys(s).sort(), Object.keys(t).sort(), `${what}: state[${id}] keys`);
    for (const [k, v] of Object.entries(s)) {
      if (v instanceof ad.Tensor) {
        assert.deepEqual(v.shape, t[k].shape, `${what}: state[${id}].${k} shape`);
        assertClose(v.dataSync(), t[k].data, RTOL, ATOL, `${what}: state[${id}].${k}`);
      } else assert.equal(v, t[k], `${what}: state[${id}].${k}`);
    }
  }
}

/** The case's parameters (at the given values) and its optimizer. */
function build(c: Json, values?: number[][]) {
  const params: ad.Tensor[] = c.params.map((p: Json, i: number) =>
    f64(values ? values[i] : p.data, p.shape).requiresGrad_(),
  );
  const Opt = OPTIMIZERS[c.optimizer];
  const arg = c.groups ? c.groups.map((g: Json) => ({ ...g, params: g.params.map((i: number) => params[i]) })) : params;
  return { params, opt: new Opt(arg, c.options) };
}

function setGrads(c: Json, params: ad.Tensor[], step: number) {
  params.forEach((p, i) => {
    const g = c.grads[step][i];
    p.grad = g === null ? null : f64(g, p.shape as number[]);
  });
}

describe('optimizers match torch.optim', () => {
  for (const c of FIXTURE.optimizers as Json[]) {
    test(c.name, () => {
      const { params, opt } = build(c);
      for (let t = 0; t < FIXTURE.steps; t++) {
        setGrads(c, params, t);
        opt.step();
        params.forEach((p, i) => assertClose(p.dataSync(), c.expected[t][i], RTOL, ATOL, `step ${t + 1} param ${i}`));
      }
      assertStateDictMatches(opt.stateDict(), c.state_dict, 'state dict');
    });
  }

  test("PyTorch's state dict, loaded mid-run, continues PyTorch's run", () => {
    for (const c of FIXTURE.optimizers as Json[]) {
      const { params, opt } = build(c, c.expected[2]);
      opt.loadStateDict(decode(c.state_dict_mid));
      assertStateDictMatches(opt.stateDict(), c.state_dict_mid, `${c.name}: loaded`);
      for (let t = 3; t < FIXTURE.steps; t++) {
        setGrads(c, params, t);
        opt.step();
        params.forEach((p, i) => assertClose(p.dataSync(), c.expected[t][i], RTOL, ATOL, `${c.name}: step ${t + 1}`));
      }
    }
  });

  test('float32 parameters follow the float64 run to float32 precision', () => {
    for (const name of ['sgd_all', 'adam_all', 'adamw_amsgrad', 'rmsprop_all', 'adagrad_maximize']) {
      const c = (FIXTURE.optimizers as Json[]).find((x) => x.name === name)!;
      const params = c.params.map((p: Json) => f64(p.data, p.shape).float().requiresGrad_());
      const opt = new OPTIMIZERS[c.optimizer](params, c.options);
      for (let t = 0; t < FIXTURE.steps; t++) {
        params.forEach((p: ad.Tensor, i: number) => {
          p.grad = f64(c.grads[t][i], p.shape as number[]).float();
        });
        opt.step();
      }
      params.forEach((p: ad.Tensor, i: number) => {
        assert.equal(p.dtype, 'float32');
        assertClose(p.dataSync(), c.expected[FIXTURE.steps - 1][i], 1e-5, 1e-5, `${name} param ${i}`);
      });
      for (const s of opt.state.values())
        for (const v of Object.values(s)) if (v instanceof ad.Tensor) assert.equal(v.dtype, 'float32');
    }
  });
});

type Sched = ad.optim.LRScheduler;

/** The case's optimizer (two groups) and its schedulers. */
function buildSchedulers(c: Json) {
  const params = [[2, 3], [4]].map((shape) => ad.zeros(shape, { dtype: 'float64' }).requiresGrad_());
  const groups = c.group_lrs.map((lr: number, i: number) => ({ params: [params[i]], lr }));
  const opt = new OPTIMIZERS[c.optimizer](groups, { lr: c.group_lrs[0], ...c.options });
  const scheds: Sched[] = c.schedulers.map((s: Json) => {
    const Cls = (optim as any)[s.scheduler];
    return new Cls(opt, ...s.args, s.options);
  });
  return { opt, scheds };
}

const momentumOf = (opt: ad.optim.Optimizer<any>) =>
  opt.paramGroups.map((g) => (Array.isArray(g.betas) ? g.betas[0] : (g.momentum ?? null)));

/** Runs a scheduler case from step `from` to the end, recording each group's lr (and momentum) after every step. */
function runSchedulers(opt: ad.optim.Optimizer<any>, scheds: Sched[], from: number, to: number) {
  const lrs: number[][] = [];
  const moms: (number | null)[][] = [];
  for (let t = from; t < to; t++) {
    opt.step();
    for (const s of scheds) s.step();
    lrs.push(opt.paramGroups.map((g) => g.lr));
    moms.push(momentumOf(opt));
  }
  return { lrs, moms };
}

describe('schedulers match torch.optim.lr_scheduler', () => {
  for (const c of FIXTURE.schedulers as Json[]) {
    test(c.name, () => {
      const { opt, scheds } = buildSchedulers(c);
      assertClose(scheds.at(-1)!.getLastLr(), c.lrs[0], RTOL, ATOL, 'after construction');
      const { lrs, moms } = runSchedulers(opt, scheds, 0, FIXTURE.scheduler_steps);
      lrs.forEach((lr, t) => assertClose(lr, c.lrs[t + 1], RTOL, ATOL, `lr after step ${t + 1}`));
      assertClose(scheds.at(-1)!.getLastLr(), c.lrs.at(-1), RTOL, ATOL, 'getLastLr');
      if (c.momentum)
        moms.forEach((m, t) => assertClose(m as number[], c.momentum[t + 1], RTOL, ATOL, `momentum after ${t + 1}`));
      // Every key we save is PyTorch's, with PyTorch's value (1.13 saves OneCycleLR's anneal function itself).
      scheds.forEach((s, i) => {
        const torch = c.state_dicts[i];
        for (const [k, v] of Object.entries(s.stateDict())) {
          if (k === '_anneal_func_type') continue;
          assert.ok(k in torch, `state dict key ${k} is not PyTorch's`);
          assertDeepClose(v, torch[k], k);
        }
      });
      assertStateDictMatches(opt.stateDict(), c.optimizer_state_dict, 'optimizer state dict');
    });
  }

  test('a scheduler resumed from state dicts repeats the uninterrupted lr sequence exactly', () => {
    for (const c of FIXTURE.schedulers as Json[]) {
      const full = buildSchedulers(c);
      const straight = runSchedulers(full.opt, full.scheds, 0, FIXTURE.scheduler_steps);
      const first = buildSchedulers(c);
      runSchedulers(first.opt, first.scheds, 0, 12);
      const saved = toJson({ opt: first.opt.stateDict(), scheds: first.scheds.map((s) => s.stateDict()) });
      const second = buildSchedulers(c);
      second.opt.loadStateDict(fromJson(saved.opt));
      second.scheds.forEach((s, i) => s.loadStateDict(fromJson(saved.scheds[i])));
      const resumed = runSchedulers(second.opt, second.scheds, 12, FIXTURE.scheduler_steps);
      assert.deepEqual(resumed.lrs, straight.lrs.slice(12), c.name);
      assert.deepEqual(resumed.moms, straight.moms.slice(12), c.name);
    }
  });

  test('lrScheduler namespace, lastEpoch resume and getLastLr', () => {
    assert.equal(optim.lrScheduler.StepLR, optim.StepLR);
    const p = ad.zeros([1], { dtype: 'float64' }).requiresGrad_();
    const opt = new optim.SGD([p], { lr: 1 });
    const s = new optim.ExponentialLR(opt, 0.5);
    s.step();
    s.step();
    assert.deepEqual(s.getLastLr(), [0.25]);
    assert.equal(opt.paramGroups[0].initialLr, 1);
    // Constructed at lastEpoch 2 (resuming, initialLr known), the next step continues from the group's lr.
    const s2 = new optim.ExponentialLR(opt, 0.5, { lastEpoch: 2 });
    assert.deepEqual(s2.getLastLr(), [0.125]);
    assert.equal(s2.lastEpoch, 3);
  });
});

describe('gradient clipping matches torch.nn.utils', () => {
  const grads0: number[][] = FIXTURE.grads0;
  const shapes = [[2, 3], [4]];
  const withGrads = () =>
    shapes.map((s, i) => {
      const p = ad.zeros(s, { dtype: 'float64' }).requiresGrad_();
      p.grad = f64(grads0[i], s);
      return p;
    });
  for (const c of FIXTURE.clip as Json[]) {
    const label = c.fn === 'clipGradNorm_' ? `clipGradNorm_ max ${c.max_norm} order ${c.norm_type}` : c.fn;
    test(label, () => {
      const params = withGrads();
      if (c.fn === 'clipGradNorm_') {
        const total = optim.clipGradNorm_(params, c.max_norm, { normType: c.norm_type });
        assert.equal(total.ndim, 0);
        assertClose([total.item()], [c.total], RTOL, ATOL, 'total norm');
      } else optim.clipGradValue_(params, c.clip_value);
      params.forEach((p, i) => assertClose(p.grad!.dataSync(), c.grads[i], RTOL, ATOL, `grad ${i}`));
    });
  }

  test('edge cases: no gradients, a single tensor, non-finite norms', () => {
    const none = ad.zeros([3]).requiresGrad_();
    const t = optim.clipGradNorm_([none], 1);
    assert.equal(t.item(), 0);
    const p = ad.zeros([2], { dtype: 'float64' }).requiresGrad_();
    p.grad = f64([3, 4], [2]);
    assert.equal(optim.clipGradNorm_(p, 10, { normType: Infinity }).item(), 4);
    assert.deepEqual(Array.from(p.grad.dataSync()), [3, 4]);
    p.grad = f64([Infinity, 1], [2]);
    assertThrowsMsg(
      () => optim.clipGradNorm_([p], 1, { errorIfNonfinite: true }),
      ad.ValueError,
      'clipGradNorm_',
      'Infinity',
      'errorIfNonfinite: false',
    );
    assert.deepEqual(Array.from(p.grad.dataSync()), [Infinity, 1], 'an error leaves the gradients as they were');
  });
});

/** y = x Wᵀ + b, and its mean squared error against t. */
function mse(w: ad.Tensor, b: ad.Tensor, x: ad.Tensor, t: ad.Tensor): ad.Tensor {
  return x.matmul(w.transpose(0, 1)).add(b).sub(t).pow(2).mean();
}

describe('gradient accumulation (docs/GRADIENT_ACCUMULATION.md)', () => {
  test('k micro-batches with loss / k and one step equal one large batch', () => {
    ad.manualSeed(0);
    const x = ad.randn([8, 3], { dtype: 'float64' });
    const t = ad.randn([8, 2], { dtype: 'float64' });
    const w0 = ad.randn([2, 3], { dtype: 'float64' });
    const b0 = ad.randn([2], { dtype: 'float64' });
    for (const [name, make] of [
      ['SGD', (ps: ad.Tensor[]) => new optim.SGD(ps, { lr: 0.1, momentum: 0.9, weightDecay: 0.01 })],
      ['Adam', (ps: ad.Tensor[]) => new optim.Adam(ps, { lr: 0.01 })],
    ] as const) {
      for (const k of [2, 4, 8]) {
        const runs = [1, k].map((chunks) => {
          const w = w0.clone().requiresGrad_();
          const b = b0.clone().requiresGrad_();
          const opt = make([w, b]);
          let grads: ArrayLike<number>[] = [];
          for (let step = 0; step < 3; step++) {
            opt.zeroGrad();
            const xs = ad.chunk(x, chunks);
            const ts = ad.chunk(t, chunks);
            for (let i = 0; i < chunks; i++) mse(w, b, xs[i], ts[i]).div(chunks).backward();
            if (step === 0) grads = [w.grad!.dataSync(), b.grad!.dataSync()];
            opt.step();
          }
          return { w, b, grads };
        });
        const [big, acc] = runs;
        assertClose(acc.grads[0], big.grads[0], 1e-12, 1e-15, `${name} k=${k} dW`);
        assertClose(acc.grads[1], big.grads[1], 1e-12, 1e-15, `${name} k=${k} db`);
        assertClose(acc.w.dataSync(), big.w.dataSync(), 1e-12, 1e-15, `${name} k=${k} W`);
        assertClose(acc.b.dataSync(), big.b.dataSync(), 1e-12, 1e-15, `${name} k=${k} b`);
      }
    }
  });
});

describe('state dicts', () => {
  const combos: [string, (ps: ad.Tensor[]) => ad.optim.Optimizer<any>, (o: any) => Sched][] = [
    [
      'SGD nesterov + StepLR',
      (ps) => new optim.SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true }),
      (o) => new optim.StepLR(o, 3, { gamma: 0.5 }),
    ],
    [
      'Adam amsgrad + OneCycleLR',
      (ps) => new optim.Adam(ps, { amsgrad: true }),
      (o) => new optim.OneCycleLR(o, 0.05, { totalSteps: 20 }),
    ],
    ['AdamW + CosineAnnealingLR', (ps) => new optim.AdamW(ps, { lr: 0.02 }), (o) => new optim.CosineAnnealingLR(o, 5)],
    [
      'RMSprop centered + LinearLR',
      (ps) => new optim.RMSprop(ps, { centered: true, momentum: 0.5 }),
      (o) => new optim.LinearLR(o, { totalIters: 4 }),
    ],
    [
      'Adagrad + ExponentialLR',
      (ps) => new optim.Adagrad(ps, { lrDecay: 0.01 }),
      (o) => new optim.ExponentialLR(o, 0.9),
    ],
    [
      'SGD groups + MultiStepLR',
      (ps) => new optim.SGD([{ params: [ps[0]], lr: 0.05 }, { params: [ps[1]] }], { lr: 0.1, momentum: 0.5 }),
      (o) => new optim.MultiStepLR(o, [2, 7]),
    ],
  ];

  test('save, load into fresh objects, continue: bit-identical to an uninterrupted run', () => {
    ad.manualSeed(1);
    const x = ad.randn([6, 3], { dtype: 'float64' });
    const t = ad.randn([6, 2], { dtype: 'float64' });
    const w0 = ad.randn([2, 3], { dtype: 'float64' });
    const b0 = ad.randn([2], { dtype: 'float64' });
    for (const [name, makeOpt, makeSched] of combos) {
      const train = (w: ad.Tensor, b: ad.Tensor, opt: ad.optim.Optimizer<any>, sched: Sched, steps: number) => {
        for (let i = 0; i < steps; i++) {
          opt.zeroGrad();
          mse(w, b, x, t).backward();
          optim.clipGradNorm_([w, b], 5);
          opt.step();
          sched.step();
        }
      };
      const fresh = (wv = w0, bv = b0) => {
        const w = wv.clone().requiresGrad_();
        const b = bv.clone().requiresGrad_();
        const opt = makeOpt([w, b]);
        return { w, b, opt, sched: makeSched(opt) };
      };
      const a = fresh();
      train(a.w, a.b, a.opt, a.sched, 12);

      const c = fresh();
      train(c.w, c.b, c.opt, c.sched, 6);
      const ckpt = toJson({
        w: c.w,
        b: c.b,
        opt: c.opt.stateDict(),
        sched: c.sched.stateDict(),
      });
      const d = fresh(fromJson(ckpt.w), fromJson(ckpt.b));
      d.opt.loadStateDict(fromJson(ckpt.opt));
      d.sched.loadStateDict(fromJson(ckpt.sched));
      train(d.w, d.b, d.opt, d.sched, 6);
      assert.deepEqual(d.w.dataSync(), a.w.dataSync(), `${name}: W`);
      assert.deepEqual(d.b.dataSync(), a.b.dataSync(), `${name}: b`);
      assert.deepEqual(toJson(d.opt.stateDict()), toJson(a.opt.stateDict()), `${name}: optimizer state`);
      assert.deepEqual(d.sched.stateDict(), a.sched.stateDict(), `${name}: scheduler state`);
    }
  });

  test('stateDict is a snapshot and round-trips exactly', () => {
    const p = ad.tensor([1, 2], { dtype: 'float64' }).requiresGrad_();
    const opt = new optim.Adam([p], { lr: 0.1, betas: [0.8, 0.9] });
    p.grad = ad.tensor([0.5, -1], { dtype: 'float64' });
    opt.step();
    const sd = opt.stateDict();
    assert.deepEqual(Object.keys(sd.state[0]).sort(), ['exp_avg', 'exp_avg_sq', 'step']);
    assert.equal(sd.state[0].step, 1);
    assert.deepEqual(sd.param_groups[0], {
      lr: 0.1,
      betas: [0.8, 0.9],
      eps: 1e-8,
      weight_decay: 0,
      amsgrad: false,
      maximize: false,
      params: [0],
    });
    const before = toJson(sd);
    opt.step();
    assert.deepEqual(toJson(sd), before, 'a later step does not change a saved dict');
    opt.loadStateDict(sd);
    assert.deepEqual(toJson(opt.stateDict()), before);
    (opt.paramGroups[0].betas as number[])[0] = 0.5;
    assert.deepEqual(sd.param_groups[0].betas, [0.8, 0.9], 'loading copies group values');
  });

  test('camelCase keys load too; a float64 state is cast to float32 parameters', () => {
    const p = ad.tensor([1, 2]).requiresGrad_();
    const opt = new optim.SGD([p], { lr: 0.1, momentum: 0.9 });
    opt.loadStateDict({
      state: { 0: { momentumBuffer: ad.tensor([1, 1], { dtype: 'float64' }) } },
      param_groups: [{ lr: 0.5, momentum: 0.9, weightDecay: 0, params: [0] }],
    });
    assert.equal(opt.paramGroups[0].lr, 0.5);
    assert.equal(opt.paramGroups[0].dampening, 0, 'missing options take the defaults');
    assert.equal((opt.state.get(p)!.momentumBuffer as ad.Tensor).dtype, 'float32');
  });

  test('a mismatched state dict is refused and changes nothing', () => {
    const p = ad.zeros([2, 3], { dtype: 'float64' }).requiresGrad_();
    const q = ad.zeros([4], { dtype: 'float64' }).requiresGrad_();
    const opt = new optim.SGD([p, q], { lr: 0.1, momentum: 0.9 });
    p.grad = ad.onesLike(p);
    q.grad = ad.onesLike(q);
    opt.step();
    const before = toJson(opt.stateDict());
    const other = new optim.SGD([q, p], { lr: 0.3, momentum: 0.9 });
    other.step();
    assertThrowsMsg(
      () => opt.loadStateDict(other.stateDict()),
      ad.ShapeError,
      'state[0].momentum_buffer has shape [4]',
      'parameter has shape [2, 3]',
    );
    const two = new optim.SGD([{ params: [p] }, { params: [q] }], { lr: 0.1 });
    assertThrowsMsg(() => opt.loadStateDict(two.stateDict()), ad.ValueError, '2 parameter group(s)', 'has 1');
    const sd = opt.stateDict();
    sd.param_groups[0].params = [0];
    assertThrowsMsg(() => opt.loadStateDict(sd), ad.ValueError, 'group 0 has 1 parameter(s)', 'but 2');
    const bad = opt.stateDict();
    bad.state[7] = {};
    assertThrowsMsg(() => opt.loadStateDict(bad), ad.ValueError, 'state for parameter 7');
    const nan = opt.stateDict();
    nan.param_groups[0].lr = Number.NaN;
    assertThrowsMsg(
      () => opt.loadStateDict(nan),
      ad.ArgumentError,
      'SGD.loadStateDict: param_groups[0].lr must be a finite number, got NaN',
    );
    const neg = opt.stateDict();
    neg.param_groups[0].weight_decay = -1;
    assertThrowsMsg(
      () => opt.loadStateDict(neg),
      ad.ArgumentError,
      'SGD.loadStateDict: param_groups[0].weight_decay must be a finite number ≥ 0, got -1',
    );
    assert.deepEqual(toJson(opt.stateDict()), before);

    const sched = new optim.StepLR(opt, 2);
    assertThrowsMsg(
      () => sched.loadStateDict({ ...sched.stateDict(), base_lrs: [0.1, 0.2] }),
      ad.ValueError,
      'base_lrs must be 1 number(s)',
    );
    assertThrowsMsg(
      () => sched.loadStateDict({ ...sched.stateDict(), step_size: 'x' }),
      ad.ArgumentError,
      'StepLR.loadStateDict: step_size must be a whole number ≥ 1, got "x" (a string)',
    );
    assert.equal(sched.stepSize, 2);
  });
});

describe('the optimizer API', () => {
  test('zeroGrad sets gradients to null, or zeroes them in place', () => {
    const p = ad.tensor([1, 2]).requiresGrad_();
    const opt = new optim.SGD([p], { lr: 0.1 });
    p.sum().backward();
    opt.zeroGrad();
    assert.equal(p.grad, null);
    p.sum().backward();
    const g = p.grad!;
    opt.zeroGrad({ setToNone: false });
    assert.equal(p.grad, g);
    assert.deepEqual(Array.from(g.dataSync()), [0, 0]);
  });

  test('a parameter without a gradient is not updated and gets no state', () => {
    const p = ad.tensor([1, 2]).requiresGrad_();
    const q = ad.tensor([3]).requiresGrad_();
    const opt = new optim.Adam([p, q], { lr: 0.1 });
    p.grad = ad.tensor([1, 1]);
    opt.step();
    assert.deepEqual(Array.from(q.dataSync()), [3]);
    assert.equal(opt.state.has(q), false);
    assert.equal(p.requiresGrad, true);
    assert.equal(p.isLeaf, true);
  });

  test('step under noGrad, with a closure that returns the loss', () => {
    const w = ad.tensor([2], { dtype: 'float64' }).requiresGrad_();
    const opt = new optim.SGD([w], { lr: 0.25 });
    const loss = ad.noGrad(() =>
      opt.step(() => {
        opt.zeroGrad();
        const l = w.pow(2).sum();
        l.backward();
        return l;
      }),
    );
    assert.equal(loss!.item(), 4);
    assert.equal(w.item(), 1); // 2 − 0.25 · 4
    assert.equal(opt.step(), undefined);
  });

  test('addParamGroup, module.parameters() and iterables', () => {
    const a = ad.tensor([1]).requiresGrad_();
    const b = ad.tensor([1]).requiresGrad_();
    const opt = new optim.SGD(new Set([a]), { lr: 0.1, momentum: 0.9 });
    opt.addParamGroup({ params: b, lr: 0.5 });
    assert.equal(opt.paramGroups[1].momentum, 0.9);
    a.grad = ad.tensor([1]);
    b.grad = ad.tensor([1]);
    opt.step();
    assertClose(a.dataSync(), [0.9], 1e-6);
    assertClose(b.dataSync(), [0.5], 1e-6);
    const ada = new optim.Adagrad([a], { initialAccumulatorValue: 0.1 });
    ada.addParamGroup({ params: [b], initialAccumulatorValue: 0.2 });
    assert.deepEqual(Object.keys(ada.stateDict().state), ['0', '1'], 'Adagrad creates state up front, as PyTorch');
    assertClose((ada.state.get(b)!.sum as ad.Tensor).dataSync(), [0.2], 1e-7);
    class Net extends ad.nn.Module {
      w = ad.nn.Parameter(ad.zeros([2]));
      v = ad.nn.Parameter(ad.zeros([3]));
    }
    const net = new Net();
    const adam = new optim.Adam(net.parameters());
    assert.equal(adam.paramGroups[0].params.length, 2);
    assert.match(adam.toString(), /^Adam \(\nParameter Group 0\n {4}amsgrad: false/);
  });

  test('errors name the optimizer, the rule and the fix', () => {
    const p = ad.zeros([2]).requiresGrad_();
    assertThrowsMsg(() => new optim.SGD([], { lr: 0.1 }), ad.ValueError, 'SGD', 'empty parameter list');
    assertThrowsMsg(
      () => new optim.SGD(p as any, { lr: 0.1 }),
      ad.ArgumentError,
      'SGD: params must be an iterable of tensors',
      'or [t] for one tensor',
      'got a float32 tensor of shape [2]',
    );
    assertThrowsMsg(() => new optim.SGD([p]), ad.ValueError, "required option 'lr'");
    assertThrowsMsg(
      () => new optim.SGD([p], { lr: -1 }),
      ad.ArgumentError,
      'SGD: lr must be a finite number ≥ 0, got -1',
    );
    assertThrowsMsg(
      () => new optim.SGD([p], { lr: 0.1, nesterov: true }),
      ad.ValueError,
      'Nesterov momentum requires momentum > 0',
    );
    assertThrowsMsg(
      () => new optim.Adam([p], { betas: [0.9, 1] }),
      ad.ArgumentError,
      'Adam: betas must be a pair [beta1, beta2] of numbers in [0, 1), got [0.9, 1]',
    );
    assertThrowsMsg(() => new optim.AdamW([p], { eps: -1 }), ad.ValueError, 'AdamW: eps must be');
    assertThrowsMsg(() => new optim.RMSprop([p], { alpha: -0.1 }), ad.ValueError, 'RMSprop: alpha');
    assertThrowsMsg(() => new optim.Adagrad([p], { lrDecay: -1 }), ad.ValueError, 'Adagrad: lrDecay');
    assertThrowsMsg(() => new optim.SGD([p.mul(2)], { lr: 0.1 }), ad.ValueError, 'not a leaf tensor', 'shape [2]');
    assertThrowsMsg(() => new optim.SGD([ad.zeros([2], { dtype: 'int32' })], { lr: 1 }), ad.ValueError, 'int32');
    assertThrowsMsg(() => new optim.SGD([p, p], { lr: 0.1 }), ad.ValueError, 'same tensor twice');
    const opt = new optim.SGD([p], { lr: 0.1 });
    assertThrowsMsg(() => opt.addParamGroup({ params: [p] }), ad.ValueError, 'already in parameter group 0');
    assertThrowsMsg(() => new optim.StepLR({} as any, 2), ad.ValueError, 'must be an optimizer');
    assertThrowsMsg(
      () => new optim.StepLR(opt, 0),
      ad.ArgumentError,
      'StepLR: stepSize must be a whole number ≥ 1, got 0',
    );
    assertThrowsMsg(
      () => new optim.LinearLR(opt, { startFactor: 2 }),
      ad.ArgumentError,
      'LinearLR: startFactor must be a finite number in (0, 1], got 2',
    );
    assertThrowsMsg(() => new optim.OneCycleLR(opt, 0.1), ad.ValueError, 'totalSteps or both epochs and stepsPerEpoch');
    assertThrowsMsg(
      () => new optim.OneCycleLR(new optim.Adagrad([ad.zeros([1]).requiresGrad_()]), 0.1, { totalSteps: 5 }),
      ad.ValueError,
      'Adagrad has no momentum or betas',
      'cycleMomentum: false',
    );
    assertThrowsMsg(
      () => new optim.ExponentialLR(new optim.SGD([ad.zeros([1]).requiresGrad_()], { lr: 1 }), 0.5, { lastEpoch: 3 }),
      ad.ValueError,
      'needs paramGroups[0].initialLr',
    );
    const oc = new optim.OneCycleLR(opt, 0.1, { totalSteps: 2 });
    oc.step();
    oc.step();
    assertThrowsMsg(() => oc.step(), ad.ValueError, 'tried to step 4 times', 'totalSteps 2');
    assert.equal(oc.lastEpoch, 2, 'a refused step changes nothing');
  });
});
