/**
 * @file ad.optim's arguments and checks: PyTorch's positional order (every parity case again, called positionally),
 * unknown, snake_case and misspelt options, hyperparameters checked wherever they are set (constructor,
 * addParamGroup, assignment to a live group, a scheduler's step, loadStateDict, step), whole steps and whole
 * clipping (a bad gradient anywhere and nothing moves), and a property: any checkpoint saveCheckpoint writes, over
 * every optimizer and scheduler with odd but valid settings, loads back. Every error case also checks that nothing
 * changed: parameters, gradients, optimizer state, step counts and lrs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { signatureOf } from '../src/core/args.js';
import * as ad from '../src/index.js';
import { assertThrowsMsg } from './helpers.js';

const { optim } = ad;
type Json = Record<string, any>;
type AnyOpt = ad.optim.Optimizer<any>;
const FIXTURE: Json = JSON.parse(readFileSync(new URL('./fixtures/parity-optim.json', import.meta.url), 'utf8'));
const tmp = mkdtempSync(join(tmpdir(), 'adjoint-optim-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const OPTIMIZERS: Record<string, new (...a: any[]) => AnyOpt> = {
  SGD: optim.SGD,
  Adam: optim.Adam,
  AdamW: optim.AdamW,
  RMSprop: optim.RMSprop,
  Adagrad: optim.Adagrad,
};
const f64 = (data: number[], shape: number[]) => ad.tensor(Float64Array.from(data), { dtype: 'float64', shape });
const bits = (t: ad.Tensor) => Array.from(t.dataSync() as ArrayLike<number>, (v) => (Object.is(v, -0) ? '-0' : v));

/**
 * A gradient put in place without the `.grad` setter's own checks, as a buggy hook or engine could leave it: the
 * optimizer and clipping checks must not rely on the setter.
 */
function forceGrad(p: ad.Tensor, g: unknown): void {
  Object.defineProperty(p, 'grad', { value: g, writable: true, configurable: true, enumerable: true });
}

/** Everything an optimizer step or a scheduler could change, as comparable data. */
function snap(opt: AnyOpt | null, tensors: ad.Tensor[], sched?: ad.optim.LRScheduler): string {
  const plain = (v: unknown): unknown =>
    v instanceof ad.Tensor
      ? { t: bits(v), shape: v.shape, dtype: v.dtype }
      : Array.isArray(v)
        ? v.map(plain)
        : v !== null && typeof v === 'object'
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
          : typeof v === 'number' && !Number.isFinite(v)
            ? String(v)
            : v;
  return JSON.stringify({
    tensors: tensors.map((t) => ({ data: bits(t), grad: t.grad instanceof ad.Tensor ? bits(t.grad) : String(t.grad) })),
    opt: opt && plain(opt.stateDict()),
    groups: opt?.paramGroups.map((g) => Object.keys(g).sort()),
    sched: sched && plain({ ...sched.stateDict(), lastLr: sched.getLastLr() }),
  });
}

/** assertThrowsMsg, and nothing in the optimizer, the tensors or the scheduler changed. */
function fails(
  opt: AnyOpt | null,
  tensors: ad.Tensor[],
  fn: () => unknown,
  cls: new (...a: any[]) => Error,
  ...fragments: string[]
): Error {
  const before = snap(opt, tensors);
  const err = assertThrowsMsg(fn, cls, ...fragments);
  assert.equal(snap(opt, tensors), before, `changed after: ${err.message}`);
  return err;
}

/** Two float64 parameters with gradients, as in the parity fixture. */
function params(): ad.Tensor[] {
  return [[2, 3], [4]].map((shape, i) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const p = f64(
      Array.from({ length: n }, (_, j) => j + i),
      shape,
    ).requiresGrad_();
    p.grad = ad.onesLike(p).mul(0.5 + i);
    return p;
  });
}

/** The positional arguments of a signature for these named values (undefined where not given), then the rest. */
function positional(cls: object, values: Json, skip: string[]): unknown[] {
  const sig = signatureOf(cls);
  assert.ok(sig, 'the class declares its signature');
  const names = sig.positional.map(([k]) => k).filter((k) => !skip.includes(k));
  const last = names.reduce((n, k, i) => (k in values ? i + 1 : n), 0);
  const args: unknown[] = names.slice(0, last).map((k) => values[k]);
  const rest = Object.fromEntries(Object.entries(values).filter(([k]) => !names.slice(0, last).includes(k)));
  return Object.keys(rest).length ? [...args, rest] : args;
}

describe("PyTorch's positional order", () => {
  test('every parity optimizer case, called positionally, follows torch.optim step for step', () => {
    for (const c of (FIXTURE.optimizers as Json[]).filter((x) => !x.groups)) {
      const ps = c.params.map((p: Json) => f64(p.data, p.shape).requiresGrad_());
      const Opt = OPTIMIZERS[c.optimizer];
      const opt = new Opt(ps, ...positional(Opt, c.options, ['params']));
      for (let t = 0; t < FIXTURE.steps; t++) {
        ps.forEach((p: ad.Tensor, i: number) => {
          const g = c.grads[t][i];
          p.grad = g === null ? null : f64(g, p.shape as number[]);
        });
        opt.step();
        ps.forEach((p: ad.Tensor, i: number) => {
          const e: number[] = c.expected[t][i];
          p.dataSync().forEach((v, j) => assert.ok(Math.abs(v - e[j]) <= 1e-15 + 1e-12 * Math.abs(e[j]), c.name));
        });
      }
    }
  });

  test('the calls a PyTorch user writes', () => {
    const [p] = params();
    const sgd = new optim.SGD([p], 0.1, 0.9);
    assert.equal(sgd.paramGroups[0].lr, 0.1);
    assert.equal(sgd.paramGroups[0].momentum, 0.9);
    const adam = new optim.Adam([p.detach().requiresGrad_()], 1e-3, [0.8, 0.9], { maximize: true });
    assert.deepEqual(adam.paramGroups[0].betas, [0.8, 0.9]);
    assert.equal(adam.paramGroups[0].maximize, true);
    assert.equal(new optim.AdamW([p], { lr: 0.01 }).paramGroups[0].weightDecay, 0.01, 'AdamW keeps its own default');
    // RMSprop takes foreach and maximize positionally in 1.13; foreach has no effect (one implementation).
    const rms = new optim.RMSprop([p], 0.01, 0.9, 1e-6, 0, 0, false, null, true);
    assert.equal(rms.paramGroups[0].maximize, true);
    assert.equal('foreach' in rms.paramGroups[0], false);
    const ada = new optim.Adagrad([p], 0.1, { lrDecay: 0.01, foreach: false });
    assert.equal(ada.paramGroups[0].lrDecay, 0.01);
    sgd.zeroGrad(false);
    assert.deepEqual(bits(p.grad!), [0, 0, 0, 0, 0, 0], 'zeroGrad(false) zeroes in place, positionally');
    sgd.zeroGrad();
    assert.equal(p.grad, null);
  });

  test('every parity scheduler case, called positionally, gives torch.optim.lr_scheduler’s lrs', () => {
    for (const c of FIXTURE.schedulers as Json[]) {
      const ps = [[2, 3], [4]].map((s) => ad.zeros(s, { dtype: 'float64' }).requiresGrad_());
      const groups = c.group_lrs.map((lr: number, i: number) => ({ params: [ps[i]], lr }));
      const opt = new OPTIMIZERS[c.optimizer](groups, { lr: c.group_lrs[0], ...c.options });
      const scheds = c.schedulers.map((s: Json) => {
        const Cls = (optim as any)[s.scheduler];
        const names = signatureOf(Cls)!.positional.map(([k]) => k);
        const named = Object.fromEntries(s.args.map((v: unknown, i: number) => [names[i + 1], v]));
        return new Cls(opt, ...positional(Cls, { ...named, ...s.options }, ['optimizer']));
      });
      for (let t = 0; t < FIXTURE.scheduler_steps; t++) {
        opt.step();
        for (const s of scheds) s.step();
        opt.paramGroups.forEach((g, i) => {
          const e = c.lrs[t + 1][i];
          assert.ok(Math.abs(g.lr - e) <= 1e-15 + 1e-12 * Math.abs(e), `${c.name} step ${t + 1}`);
        });
      }
    }
  });

  test('schedulers by position and by name agree', () => {
    const lrs = (make: (o: AnyOpt) => ad.optim.LRScheduler) => {
      const opt = new optim.SGD(params(), 1, 0.9);
      const s = make(opt);
      const out = [];
      for (let i = 0; i < 40; i++) {
        s.step();
        out.push(s.getLastLr()[0]);
      }
      return out;
    };
    const pairs: [(o: AnyOpt) => ad.optim.LRScheduler, (o: AnyOpt) => ad.optim.LRScheduler][] = [
      [(o) => new optim.StepLR(o, 30, 0.1), (o) => new optim.StepLR(o, { stepSize: 30, gamma: 0.1 })],
      [(o) => new optim.ExponentialLR(o, 0.9), (o) => new optim.ExponentialLR(o, { gamma: 0.9 })],
      [
        (o) => new optim.CosineAnnealingLR(o, 100, 0.001),
        (o) => new optim.CosineAnnealingLR(o, { tMax: 100, etaMin: 0.001 }),
      ],
      [
        (o) => new optim.MultiStepLR(o, [5, 9], 0.5),
        (o) => new optim.MultiStepLR(o, { milestones: [5, 9], gamma: 0.5 }),
      ],
      [
        (o) => new optim.LinearLR(o, 0.1, 0.9, 12),
        (o) => new optim.LinearLR(o, { totalIters: 12, startFactor: 0.1, endFactor: 0.9 }),
      ],
      [
        (o) => new optim.OneCycleLR(o, 0.5, 50, null, null, 0.4, 'linear'),
        (o) => new optim.OneCycleLR(o, { maxLr: 0.5, totalSteps: 50, pctStart: 0.4, annealStrategy: 'linear' }),
      ],
    ];
    for (const [a, b] of pairs) assert.deepEqual(lrs(a), lrs(b));
    assert.deepEqual(lrs((o) => new optim.ExponentialLR(o, { gamma: 0.9 })).slice(0, 2), [0.9, 0.9 * 0.9]);
  });
});

describe('unknown, snake_case and misspelt options', () => {
  test('optimizers', () => {
    const ps = params();
    fails(
      null,
      ps,
      () => new optim.Adam(ps, { weight_decay: 0.1 } as any),
      ad.ArgumentError,
      "Adam: unknown option 'weight_decay'; use weightDecay",
    );
    fails(
      null,
      ps,
      () => new optim.Adam(ps, { weightDecy: 0.1 } as any),
      ad.ArgumentError,
      "Adam: unknown option 'weightDecy' (did you mean weightDecay?)",
      'the options are',
    );
    fails(
      null,
      ps,
      () => new optim.SGD(ps, { lr: 0.1, nestrov: true } as any),
      ad.ArgumentError,
      'did you mean nesterov?',
    );
    fails(null, ps, () => new optim.SGD(ps, 0.1, { lr: 0.2 }), ad.ArgumentError, 'SGD: lr was given twice');
    fails(
      null,
      ps,
      () => new optim.SGD(ps, 0.1, 0.9, 0, 0, false, true as any),
      ad.ArgumentError,
      'SGD: takes at most 6 positional arguments',
      'give maximize, foreach as options',
    );
    fails(null, ps, () => new optim.Adam(ps, { fused: true } as any), ad.ArgumentError, "Adam: unknown option 'fused'");
    fails(
      null,
      ps,
      () => new optim.SGD(ps, '0.1' as any),
      ad.ArgumentError,
      'SGD: lr must be a finite number ≥ 0, got "0.1" (a string)',
    );
    fails(
      null,
      ps,
      () => new optim.Adam(ps, { amsgrad: 1 } as any),
      ad.ArgumentError,
      'Adam: amsgrad must be a boolean',
    );
    fails(null, ps, () => new optim.SGD({ lr: 0.1 } as any), ad.ArgumentError, "SGD: missing argument 'params'");
  });

  test('parameter groups: a snake_case or misspelt option is an error, not a silent default', () => {
    const [p, q] = params();
    fails(
      null,
      [p, q],
      () => new optim.Adam([{ params: [p], weight_decay: 0.1 }]),
      ad.ArgumentError,
      "Adam: unknown option 'weight_decay' in paramGroups[0]; use weightDecay",
    );
    const opt = new optim.SGD([p], 0.1);
    fails(
      opt,
      [p, q],
      () => opt.addParamGroup({ params: [q], momentun: 0.9 } as any),
      ad.ArgumentError,
      'SGD.addParamGroup',
      "'momentun'",
      'did you mean momentum?',
    );
    // Keys that are no option's near miss are kept, as PyTorch keeps them (a group's name, a scheduler's keys).
    opt.addParamGroup({ params: [q], name: 'head' });
    assert.equal(opt.paramGroups[1].name, 'head');
  });

  test('schedulers, including CosineAnnealingLR({TMax}) (once printed as [object Object])', () => {
    const opt = new optim.SGD(params(), 0.1);
    const t = () => [];
    const e1 = fails(
      opt,
      t(),
      () => new optim.CosineAnnealingLR(opt, { TMax: 10 } as any),
      ad.ArgumentError,
      "CosineAnnealingLR: unknown option 'TMax'; use tMax",
    );
    assert.ok(!e1.message.includes('[object Object]'));
    fails(opt, t(), () => new optim.CosineAnnealingLR(opt, { T_max: 10 } as any), ad.ArgumentError, 'use tMax');
    fails(
      opt,
      t(),
      () => new optim.StepLR(opt, 30, { last_epoch: -1 } as any),
      ad.ArgumentError,
      "StepLR: unknown option 'last_epoch'; use lastEpoch",
    );
    fails(opt, t(), () => new optim.StepLR(opt, 30, { gama: 0.5 } as any), ad.ArgumentError, 'did you mean gamma?');
    fails(opt, t(), () => new optim.LinearLR(opt, { total_iters: 3 } as any), ad.ArgumentError, 'use totalIters');
    fails(
      opt,
      t(),
      () => new optim.OneCycleLR(opt, 0.1, { total_steps: 3 } as any),
      ad.ArgumentError,
      'use totalSteps',
    );
    fails(
      opt,
      t(),
      () => new optim.StepLR(opt, 30, 0.1, -1, true as any),
      ad.ArgumentError,
      'StepLR: verbose must be false',
      'getLastLr',
    );
    fails(
      opt,
      t(),
      () => new (optim.CosineAnnealingLR as any)(opt),
      ad.ArgumentError,
      "CosineAnnealingLR: missing argument 'tMax'",
    );
    fails(opt, t(), () => new optim.StepLR({} as any, 2), ad.ArgumentError, 'StepLR: optimizer must be an optimizer');
    const s = new optim.StepLR(opt, 2);
    const before = snap(opt, [], s);
    assertThrowsMsg(() => (s.step as any)(5), ad.ArgumentError, 'StepLR.step', 'step(epoch) is deprecated');
    assert.equal(snap(opt, [], s), before);
  });

  test('clipping', () => {
    const ps = params();
    fails(
      null,
      ps,
      () => optim.clipGradNorm_(ps, -1),
      ad.ArgumentError,
      'clipGradNorm_: maxNorm must be a number ≥ 0, got -1',
    );
    fails(null, ps, () => optim.clipGradNorm_(ps, Number.NaN), ad.ArgumentError, 'maxNorm', 'got NaN');
    fails(null, ps, () => optim.clipGradNorm_(ps, 1, { norm_type: 1 } as any), ad.ArgumentError, 'use normType');
    fails(null, ps, () => optim.clipGradNorm_(ps, 1, 'two' as any), ad.ArgumentError, 'normType must be');
    fails(
      null,
      ps,
      () => optim.clipGradValue_(ps, -0.5),
      ad.ArgumentError,
      'clipGradValue_: clipValue must be a number ≥ 0',
    );
    fails(
      null,
      ps,
      () => optim.clipGradNorm_(5 as any, 1),
      ad.ArgumentError,
      'clipGradNorm_: parameters must be a Tensor or an iterable',
    );
    // normType and errorIfNonfinite positionally, as PyTorch.
    const a = params();
    const b = params();
    assert.deepEqual(bits(optim.clipGradNorm_(a, 1, 1)), bits(optim.clipGradNorm_(b, 1, { normType: 1 })));
    assert.deepEqual(
      a.map((p) => bits(p.grad!)),
      b.map((p) => bits(p.grad!)),
    );
    assert.equal(optim.clipGradNorm_(params(), 1, 'inf').item(), 1.5);
    const inf = params();
    inf[0].grad = ad.fullLike(inf[0], Infinity);
    fails(
      null,
      inf,
      () => optim.clipGradNorm_(inf, 1, 2, true),
      ad.ValueError,
      'clipGradNorm_',
      'errorIfNonfinite: false',
    );
  });
});

/** For each optimizer, options that are out of range, as [option, value, what the message says]. */
const BAD: Record<string, [string, unknown, string][]> = {
  SGD: [
    ['lr', Number.NaN, 'lr must be a finite number ≥ 0, got NaN'],
    ['lr', -0.1, 'lr must be a finite number ≥ 0, got -0.1'],
    ['lr', Infinity, 'lr must be a finite number ≥ 0, got Infinity'],
    ['momentum', -0.9, 'momentum must be a finite number ≥ 0'],
    ['dampening', Number.NaN, 'dampening must be a finite number, got NaN'],
    ['weightDecay', -1e-4, 'weightDecay must be a finite number ≥ 0'],
    ['nesterov', 'yes', 'nesterov must be a boolean'],
  ],
  Adam: [
    ['lr', Number.NaN, 'lr must be'],
    ['betas', [1, 0.999], 'betas must be a pair [beta1, beta2] of numbers in [0, 1), got [1, 0.999]'],
    ['betas', [0.9, -0.1], 'betas must be a pair'],
    ['betas', 0.9, 'betas must be a pair'],
    ['eps', -1e-8, 'eps must be a finite number ≥ 0'],
    ['weightDecay', Number.NaN, 'weightDecay must be'],
    ['amsgrad', 1, 'amsgrad must be a boolean'],
  ],
  AdamW: [
    ['lr', -1, 'lr must be'],
    ['betas', [0.9, 1], 'betas must be a pair'],
    ['weightDecay', -0.01, 'weightDecay must be'],
  ],
  RMSprop: [
    ['lr', Number.NaN, 'lr must be'],
    ['alpha', -0.5, 'alpha must be a finite number ≥ 0'],
    ['eps', Number.NaN, 'eps must be'],
    ['momentum', -0.1, 'momentum must be'],
    ['centered', 'no', 'centered must be a boolean'],
  ],
  Adagrad: [
    ['lr', Infinity, 'lr must be'],
    ['lrDecay', -0.1, 'lrDecay must be'],
    ['initialAccumulatorValue', -1, 'initialAccumulatorValue must be'],
    ['eps', -1, 'eps must be'],
    ['maximize', null, 'maximize must be a boolean'],
  ],
};

describe('hyperparameters are checked wherever they are set', () => {
  for (const [name, cases] of Object.entries(BAD)) {
    test(`${name}: constructor, group, addParamGroup, assignment, loadStateDict`, () => {
      const Opt = OPTIMIZERS[name];
      for (const [key, value, msg] of cases) {
        const ps = params();
        const lr = { lr: 0.01 };
        fails(null, ps, () => new Opt(ps, { ...lr, [key]: value }), ad.ArgumentError, `${name}: ${msg}`);
        fails(
          null,
          ps,
          () => new Opt([{ params: [ps[0]], [key]: value }, { params: [ps[1]] }], lr),
          ad.ArgumentError,
          `${name}: paramGroups[0].${msg}`,
        );
        const opt = new Opt([ps[0]], lr);
        opt.step();
        fails(
          opt,
          ps,
          () => opt.addParamGroup({ params: [ps[1]], [key]: value }),
          ad.ArgumentError,
          `${name}.addParamGroup: paramGroup.${msg}`,
        );
        const g = opt.paramGroups[0];
        fails(
          opt,
          ps,
          () => {
            g[key] = value;
          },
          ad.ArgumentError,
          `${name}: paramGroups[0].${msg}`,
        );
        const sd = opt.stateDict();
        if (key === 'lr' && typeof value === 'number' && Number.isFinite(value)) continue; // a resting lr may be < 0
        sd.param_groups[0][key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = value;
        fails(opt, ps, () => opt.loadStateDict(sd), ad.ArgumentError, `${name}.loadStateDict: param_groups[0].`);
      }
    });
  }

  test('the rule between options (Nesterov) holds on assignment too', () => {
    const ps = params();
    fails(
      null,
      ps,
      () => new optim.SGD(ps, 0.1, 0, { nesterov: true }),
      ad.ValueError,
      'SGD: Nesterov momentum requires momentum > 0 and dampening 0',
      'nesterov false',
    );
    const opt = new optim.SGD(ps, 0.1, 0.9, { nesterov: true });
    fails(
      opt,
      ps,
      () => {
        opt.paramGroups[0].momentum = 0;
      },
      ad.ValueError,
      'SGD: paramGroups[0]: Nesterov momentum requires',
    );
    opt.paramGroups[0].momentum = 0.5;
    assert.equal(opt.paramGroups[0].momentum, 0.5, 'a valid assignment takes effect');
  });

  test('a NaN lr can no longer reach the parameters (the bug: every parameter NaN, then a checkpoint that would not load)', () => {
    const ps = params();
    const opt = new optim.Adam(ps, 0.01);
    fails(
      opt,
      ps,
      () => {
        opt.paramGroups[0].lr = Number.NaN;
      },
      ad.ArgumentError,
      'Adam: paramGroups[0].lr must be a finite number ≥ 0, got NaN',
    );
    fails(
      opt,
      ps,
      () => new optim.ExponentialLR(opt, Number.NaN),
      ad.ArgumentError,
      'ExponentialLR: gamma must be a finite number ≥ 0, got NaN',
    );
    opt.step();
    assert.ok(ps.every((p) => bits(p).every((v) => typeof v === 'number' && !Number.isNaN(v))));
  });
});

describe('scheduler settings', () => {
  test('gamma NaN, negative or a string is a typed error at construction, and changes no group', () => {
    const ps = params();
    const opt = new optim.SGD(ps, 0.1, 0.9);
    for (const gamma of [Number.NaN, -0.5, '0.5', Infinity]) {
      const shown = typeof gamma === 'string' ? '"0.5" (a string)' : String(gamma);
      fails(
        opt,
        ps,
        () => new optim.StepLR(opt, 3, gamma as any),
        ad.ArgumentError,
        `StepLR: gamma must be a finite number ≥ 0, got ${shown}`,
      );
      fails(
        opt,
        ps,
        () => new optim.MultiStepLR(opt, [2], gamma as any),
        ad.ArgumentError,
        'MultiStepLR: gamma must be',
      );
      fails(
        opt,
        ps,
        () => new optim.ExponentialLR(opt, { gamma } as any),
        ad.ArgumentError,
        'ExponentialLR: gamma must be',
      );
    }
    fails(
      opt,
      ps,
      () => new optim.MultiStepLR(opt, [2, 1.5]),
      ad.ArgumentError,
      'MultiStepLR: milestones must be an array of whole numbers',
    );
    fails(
      opt,
      ps,
      () => new optim.CosineAnnealingLR(opt, 0),
      ad.ArgumentError,
      'CosineAnnealingLR: tMax must be a whole number ≥ 1, got 0',
    );
    fails(
      opt,
      ps,
      () => new optim.CosineAnnealingLR(opt, 10, -1),
      ad.ArgumentError,
      'etaMin must be a finite number ≥ 0',
    );
    fails(
      opt,
      ps,
      () => new optim.LinearLR(opt, 0),
      ad.ArgumentError,
      'LinearLR: startFactor must be a finite number in (0, 1], got 0',
    );
    fails(
      opt,
      ps,
      () => new optim.OneCycleLR(opt, 0.1, 10, null, null, 1.5),
      ad.ArgumentError,
      'OneCycleLR: pctStart must be a finite number in [0, 1]',
    );
    fails(
      opt,
      ps,
      () => new optim.OneCycleLR(opt, 0.1, { totalSteps: 10, annealStrategy: 'exp' as any }),
      ad.ArgumentError,
      "annealStrategy must be one of 'cos', 'linear'",
    );
    fails(
      opt,
      ps,
      () => new optim.OneCycleLR(opt, [0.1, 0.2], { totalSteps: 10 }),
      ad.ValueError,
      'OneCycleLR: expected 1 values for maxLr',
    );
    fails(
      opt,
      ps,
      () => new optim.OneCycleLR(opt, 0.1, { epochs: 2 }),
      ad.ValueError,
      'totalSteps or both epochs and stepsPerEpoch',
      'epochs 2',
    );
  });

  test('a constructor that fails part way leaves every group as it was (OneCycleLR on Adam with maxMomentum 1)', () => {
    const ps = params();
    const opt = new optim.Adam(ps, 0.01);
    fails(
      opt,
      ps,
      () => new optim.OneCycleLR(opt, 0.1, { totalSteps: 10, maxMomentum: 1 }),
      ad.ArgumentError,
      'OneCycleLR: paramGroups[0].betas must be a pair',
      'got [1, 0.999]',
      'maxMomentum',
    );
    assert.equal('initialLr' in opt.paramGroups[0], false);
  });

  test('a step whose lr leaves the range is refused for every group, and the scheduler stays where it was', () => {
    const [p, q] = params();
    const opt = new optim.SGD(
      [
        { params: [p], lr: 1 },
        { params: [q], lr: 1e-300 },
      ],
      0.1,
    );
    const s = new optim.ExponentialLR(opt, 1e300);
    s.step();
    assert.deepEqual(s.getLastLr(), [1e300, 1]);
    const before = snap(opt, [p, q], s);
    assertThrowsMsg(
      () => s.step(),
      ad.ArgumentError,
      'ExponentialLR.step: paramGroups[0].lr must be a finite number, got Infinity',
      'for step 2',
    );
    assert.equal(snap(opt, [p, q], s), before, 'group 1 (which stays in range) did not move either');
    assert.equal(s.lastEpoch, 1);
  });

  test('a scheduler setting changed to NaN by hand is caught at the next step, not written', () => {
    const ps = params();
    const opt = new optim.SGD(ps, 0.1);
    const s = new optim.StepLR(opt, 1);
    s.gamma = Number.NaN;
    const before = snap(opt, ps, s);
    assertThrowsMsg(
      () => s.step(),
      ad.ArgumentError,
      'StepLR.step: paramGroups[0].lr must be a finite number, got NaN',
    );
    assert.equal(snap(opt, ps, s), before);
  });

  test('loadStateDict checks each setting with the constructor’s type', () => {
    const opt = new optim.SGD(params(), 0.1);
    const cases: [ad.optim.LRScheduler, string, unknown, string][] = [
      [new optim.StepLR(opt, 2), 'gamma', -1, 'StepLR.loadStateDict: gamma must be a finite number ≥ 0, got -1'],
      [
        new optim.CosineAnnealingLR(opt, 5),
        'T_max',
        2.5,
        'CosineAnnealingLR.loadStateDict: T_max must be a whole number ≥ 1',
      ],
      [
        new optim.LinearLR(opt),
        'start_factor',
        0,
        'LinearLR.loadStateDict: start_factor must be a finite number in (0, 1]',
      ],
      [
        new optim.MultiStepLR(opt, [3]),
        'milestones',
        { 3: 0 },
        'MultiStepLR.loadStateDict: milestones must map each milestone',
      ],
      [
        new optim.ExponentialLR(opt, 0.5),
        'last_epoch',
        -2,
        'ExponentialLR.loadStateDict: last_epoch must be a whole number ≥ -1',
      ],
      [
        new optim.OneCycleLR(opt, 0.1, 5),
        'total_steps',
        Number.NaN,
        'OneCycleLR.loadStateDict: total_steps must be a whole number ≥ 1, got NaN',
      ],
    ];
    for (const [s, key, value, msg] of cases) {
      const before = snap(opt, [], s);
      assertThrowsMsg(() => s.loadStateDict({ ...s.stateDict(), [key]: value }), ad.ArgumentError, msg);
      assert.equal(snap(opt, [], s), before, msg);
    }
  });
});

describe('a step moves every parameter or none', () => {
  const badGrads: [string, (p: ad.Tensor) => unknown, new (...a: any[]) => Error, string][] = [
    [
      'a [5] gradient on a [4] parameter',
      () => ad.ones([5], { dtype: 'float64' }),
      ad.ShapeError,
      'has shape [4] but its .grad has shape [5]',
    ],
    [
      'a [1] gradient (which would broadcast)',
      () => ad.ones([1], { dtype: 'float64' }),
      ad.ShapeError,
      'its .grad has shape [1]',
    ],
    [
      'a float32 gradient on a float64 parameter',
      (p) => ad.onesLike(p).float(),
      ad.DTypeError,
      'is float64 but its .grad is float32',
    ],
    ['a number', () => 5, ad.ValueError, 'got 5 as its .grad'],
  ];
  for (const name of Object.keys(OPTIMIZERS))
    test(`${name}: a bad gradient on the last parameter leaves the first, every state and every step count alone`, () => {
      for (const [what, make, cls, msg] of badGrads) {
        const [p1, p2] = params();
        const opt = new OPTIMIZERS[name]([p1, p2], { lr: 0.1, ...(name === 'SGD' ? { momentum: 0.9 } : {}) });
        opt.step();
        forceGrad(p2, make(p2));
        fails(opt, [p1, p2], () => opt.step(), cls, `${name}.step: paramGroups[0].params[1]`, msg);
        // A first step too: no state is created.
        const [q1, q2] = params();
        const fresh = new OPTIMIZERS[name]([{ params: [q1] }, { params: [q2] }], { lr: 0.1 });
        forceGrad(q2, make(q2));
        fails(fresh, [q1, q2], () => fresh.step(), cls, `paramGroups[1].params[0]`, msg);
        assert.equal(name === 'Adagrad' || fresh.state.size === 0, true, what);
      }
    });

  test('the case from the issue: Adam([p1, p2]).step() with a bad p2.grad neither moves p1 nor counts a step for p2', () => {
    const p1 = ad.tensor([1, 2, 3]).requiresGrad_();
    const p2 = ad.tensor([4, 5, 6]).requiresGrad_();
    const opt = new optim.Adam([p1, p2], 0.1);
    p1.grad = ad.ones([3]);
    forceGrad(p2, ad.ones([5]));
    fails(opt, [p1, p2], () => opt.step(), ad.ShapeError, 'Adam.step', '[5]', 'never broadcast');
    assert.equal(opt.state.size, 0);
  });

  test('what an assignment cannot see is caught at the step: betas changed in place, a replaced group, a corrupt state', () => {
    const ps = params();
    const opt = new optim.Adam(ps, 0.01);
    opt.step();
    (opt.paramGroups[0].betas as number[])[0] = Number.NaN;
    fails(
      opt,
      ps,
      () => opt.step(),
      ad.ArgumentError,
      'Adam.step: paramGroups[0].betas must be a pair',
      'got [NaN, 0.999]',
    );
    (opt.paramGroups[0].betas as number[])[0] = 0.9;
    opt.paramGroups[0] = { ...opt.paramGroups[0], eps: -1 };
    fails(
      opt,
      ps,
      () => opt.step(),
      ad.ArgumentError,
      'Adam.step: paramGroups[0].eps must be a finite number ≥ 0, got -1',
    );
    opt.paramGroups[0].eps = 1e-8;
    opt.step();
    opt.state.get(ps[1])!.expAvg = ad.zeros([3], { dtype: 'float64' });
    fails(
      opt,
      ps,
      () => opt.step(),
      ad.ShapeError,
      'Adam.step: the state of paramGroups[0].params[1].expAvg',
      'shape [3]',
      'shape [4]',
    );
    opt.state.get(ps[1])!.expAvg = ad.zerosLike(ps[1]);
    opt.state.get(ps[1])!.step = Number.NaN;
    fails(opt, ps, () => opt.step(), ad.ValueError, 'the state of paramGroups[0].params[1].step must be');
  });

  test('a parameter a step could not update in place is refused when it is added', () => {
    const e = ad.tensor([1], { dtype: 'float64' }).expand([3]).requiresGrad_();
    assertThrowsMsg(() => new optim.SGD([e], 0.1), ad.ValueError, 'SGD: params[0] (shape [3]) is expanded', 'clone()');
  });
});

describe('clipping checks every gradient first', () => {
  for (const fn of ['clipGradNorm_', 'clipGradValue_'] as const) {
    test(`${fn}: a bad gradient on the last parameter leaves every gradient as it was`, () => {
      const clip = (ps: ad.Tensor[]) =>
        fn === 'clipGradNorm_' ? optim.clipGradNorm_(ps, 0.1) : optim.clipGradValue_(ps, 0.1);
      const cases: [unknown, new (...a: any[]) => Error, string][] = [
        [
          ad.ones([5], { dtype: 'float64' }),
          ad.ShapeError,
          `${fn}: parameters[1] has shape [4] but its .grad has shape [5]`,
        ],
        [ad.ones([4]), ad.DTypeError, 'its .grad is float32'],
        ['grad', ad.ValueError, `${fn}: parameters[1] got "grad" (a string) as its .grad`],
        [
          ad.ones([1], { dtype: 'float64' }).expand([4]),
          ad.ShapeError,
          `${fn}: parameters[1].grad (shape [4]) is expanded`,
        ],
      ];
      for (const [g, cls, msg] of cases) {
        const ps = params();
        forceGrad(ps[1], g);
        fails(null, ps, () => clip(ps), cls, msg);
      }
    });
  }
});

// ----- checkpoints ------------------------------------------------------------------------------------------------

/** A small deterministic generator for the property below (mulberry32; its own, so the global RNG stays put). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

/** Odd but valid values: at the edges of each range, tiny, huge, exactly representable or not. */
const RATE = [0, 5e-324, 1e-300, 1e-8, 0.1, 0.999, 1, 3.5, 1e6];
const FRACTION = [0, 1e-12, 0.5, 0.9, 0.999999];

function randomOptimizer(r: () => number, ps: ad.Tensor[]): [string, Json] {
  const name = pick(r, Object.keys(OPTIMIZERS));
  const lr = pick(r, RATE);
  const o: Json = { lr };
  if (name === 'SGD') {
    o.momentum = pick(r, [0, ...FRACTION, 1, 2]);
    o.dampening = o.momentum > 0 && r() < 0.5 ? 0 : pick(r, [0, -0.5, 0.3, 1, 1.5]);
    o.nesterov = o.momentum > 0 && o.dampening === 0 && r() < 0.5;
    o.weightDecay = pick(r, RATE);
  } else if (name === 'Adam' || name === 'AdamW') {
    o.betas = [pick(r, FRACTION), pick(r, FRACTION)];
    o.eps = pick(r, RATE);
    o.weightDecay = pick(r, RATE);
    o.amsgrad = r() < 0.5;
  } else if (name === 'RMSprop') {
    o.alpha = pick(r, [0, ...FRACTION, 1, 1.5]);
    o.eps = pick(r, RATE);
    o.momentum = pick(r, [0, ...FRACTION]);
    o.centered = r() < 0.5;
  } else {
    o.lrDecay = pick(r, RATE);
    o.initialAccumulatorValue = pick(r, RATE);
    o.eps = pick(r, RATE);
  }
  o.maximize = r() < 0.3;
  void ps;
  return [name, o];
}

function randomScheduler(r: () => number, opt: AnyOpt): [string, unknown[]] {
  const cyclable = 'momentum' in opt.defaults || 'betas' in opt.defaults;
  const kinds = [
    'StepLR',
    'MultiStepLR',
    'ExponentialLR',
    'CosineAnnealingLR',
    'LinearLR',
    ...(cyclable ? ['OneCycleLR', 'OneCycleLR'] : []),
  ];
  const name = pick(r, kinds);
  switch (name) {
    case 'StepLR':
      return [name, [pick(r, [1, 2, 5]), pick(r, [0, 0.5, 1, 2, 1e100])]];
    case 'MultiStepLR':
      return [name, [[0, 1, 1, 3, 40].filter(() => r() < 0.6), pick(r, [0, 0.1, 1, 10])]];
    case 'ExponentialLR':
      return [name, [pick(r, [0, 1e-300, 0.5, 1, 1.5, 1e200])]];
    case 'CosineAnnealingLR':
      return [name, [pick(r, [1, 2, 3, 7]), pick(r, [0, 1e-300, 0.5, 10])]];
    case 'LinearLR':
      return [name, [pick(r, [1e-9, 0.25, 1]), pick(r, [0, 0.5, 1]), pick(r, [0, 1, 3, 20])]];
    default: {
      const phases = opt.defaults.betas ? { maxMomentum: pick(r, [0.9, 0.95]), baseMomentum: pick(r, [0, 0.85]) } : {};
      return [
        name,
        [
          pick(r, [0, 1e-3, 0.5, 1e4]),
          {
            totalSteps: pick(r, [1, 2, 5, 9]),
            pctStart: pick(r, [0, 0.3, 0.5, 1]),
            annealStrategy: pick(r, ['cos', 'linear']),
            threePhase: r() < 0.3,
            divFactor: pick(r, [1e-3, 25, 1e6]),
            finalDivFactor: pick(r, [1e-2, 1e4]),
            ...phases,
          },
        ],
      ];
    }
  }
}

/** A model, its optimizer and its scheduler built from a case; the same case builds the same objects. */
function build(seed: number) {
  const r = random(seed);
  ad.manualSeed(seed);
  const model = new ad.nn.Linear(3, 2);
  const ps = model.parameters();
  const [oname, opts] = randomOptimizer(r, ps);
  const opt = new OPTIMIZERS[oname](
    r() < 0.5 ? ps : [{ params: [ps[0]] }, { params: [ps[1]], lr: pick(r, RATE) }],
    opts,
  );
  const [sname, sargs] = randomScheduler(r, opt);
  const sched: ad.optim.LRScheduler = new (optim as any)[sname](opt, ...sargs);
  return { r, model, opt, sched, label: `${oname} ${JSON.stringify(opts)} + ${sname} ${JSON.stringify(sargs)}` };
}

describe('checkpoints', () => {
  test('property: whatever saveCheckpoint writes, loadCheckpoint loads (every optimizer and scheduler, odd settings)', () => {
    const x = ad.tensor([[1, -2, 0.5]]);
    let refused = 0;
    let degenerate = 0;
    for (let seed = 1; seed <= 120; seed++) {
      let run: ReturnType<typeof build>;
      try {
        run = build(seed);
      } catch (e) {
        // Settings that each pass their own check but fail together (a OneCycleLR phase of no length, where
        // PyTorch divides by zero) are a typed error at construction.
        assert.ok(e instanceof ad.AdjointError, (e as Error).stack);
        degenerate++;
        if (process.env.DBG) console.log('degenerate', (e as Error).message.slice(0, 150));
        continue;
      }
      const steps = Math.floor(run.r() * 12);
      for (let i = 0; i < steps; i++) {
        // A step or a schedule may refuse (an lr out of range, OneCycleLR past its end): that is a typed error,
        // and the run keeps its last good state, which is what gets saved.
        try {
          run.opt.zeroGrad();
          (run.model.forward(x) as ad.Tensor).pow(2).sum().backward();
          run.opt.step();
          run.sched.step();
        } catch (e) {
          assert.ok(e instanceof ad.AdjointError, `${run.label}: ${(e as Error).stack}`);
          refused++;
          if (process.env.DBG) console.log('refused', run.label, (e as Error).message.slice(0, 120));
          break;
        }
      }
      const file = join(tmp, `prop-${seed}.ckpt`);
      ad.io.saveCheckpoint(file, { model: run.model, optimizer: run.opt, scheduler: run.sched, step: steps });
      const fresh = build(seed);
      const loaded = ad.io.loadCheckpoint(file, { model: fresh.model, optimizer: fresh.opt, scheduler: fresh.sched });
      assert.equal(loaded.step, steps);
      run.opt.zeroGrad(); // gradients are not part of a checkpoint
      assert.equal(
        snap(fresh.opt, fresh.model.parameters(), fresh.sched),
        snap(run.opt, run.model.parameters(), run.sched),
        run.label,
      );
      // And it resumes: one more step of each (or the same refusal) leaves them equal.
      const next = (r: typeof run) => {
        for (const p of r.model.parameters()) p.grad = ad.onesLike(p).mul(0.25);
        try {
          r.opt.step();
          r.sched.step();
          return 'stepped';
        } catch (e) {
          assert.ok(e instanceof ad.AdjointError, `${run.label}: ${(e as Error).stack}`);
          return (e as Error).message;
        }
      };
      assert.equal(next(fresh), next(run), run.label);
      assert.equal(
        snap(fresh.opt, fresh.model.parameters(), fresh.sched),
        snap(run.opt, run.model.parameters(), run.sched),
        `${run.label}, one step on`,
      );
    }
    assert.ok(refused > 0, 'some runs reach the edge of their range');
    assert.ok(degenerate < 10, `${degenerate} cases could not be built`);
  });

  test("OneCycleLR's linear anneal ends below 0, as PyTorch's does: the checkpoint loads and steps as PyTorch would", () => {
    const model = new ad.nn.Linear(3, 2);
    const opt = new optim.SGD(model.parameters(), 0.1, 0.9);
    const sched = new optim.OneCycleLR(opt, 0.5, { totalSteps: 10, annealStrategy: 'linear', pctStart: 0.4 });
    for (let i = 0; i < 10; i++) sched.step();
    const lr = opt.paramGroups[0].lr;
    assert.ok(lr < 0, `the last lr is ${lr}`);
    const file = join(tmp, 'onecycle.ckpt');
    ad.io.saveCheckpoint(file, { model, optimizer: opt, scheduler: sched, step: 10 });
    const m2 = new ad.nn.Linear(3, 2);
    const o2 = new optim.SGD(m2.parameters(), 0.1, 0.9);
    const s2 = new optim.OneCycleLR(o2, 0.5, { totalSteps: 10, annealStrategy: 'linear', pctStart: 0.4 });
    ad.io.loadCheckpoint(file, { model: m2, optimizer: o2, scheduler: s2 });
    assert.equal(o2.paramGroups[0].lr, lr);
    // The resumed run steps exactly as the saved one does (and as PyTorch's would, with that lr).
    const ps = m2.parameters();
    for (const m of [model, m2]) for (const p of m.parameters()) p.grad = ad.onesLike(p);
    opt.step();
    o2.step();
    assert.deepEqual(ps.map(bits), model.parameters().map(bits));
    // A user may not set such an lr; a scheduler past the end of its cycle may, as PyTorch's does.
    fails(
      o2,
      ps,
      () => {
        o2.paramGroups[0].lr = -0.1;
      },
      ad.ArgumentError,
      'SGD: paramGroups[0].lr must be a finite number ≥ 0, got -0.1',
    );
  });
});
