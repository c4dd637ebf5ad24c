/**
 * @file The optimizers' fused updates (one `addScaled` pass for b ← μ·b + d and friends, later ops in place in the
 * tensor the first one made) are bit-identical to PyTorch's update written op by op, as it was before the fusion:
 * every optimizer and option that takes a different path, float32 and float64, on every backend, several steps.
 * And `_addScaledInto`, the helper behind them, gives the composed ops' values on its fast path and its fallbacks.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { _addScaledInto } from '../src/ops/index.js';

type T = ad.Tensor;
type Opts = Record<string, unknown>;

/** torch.optim's updates, op by op (the form the optimizers had before the fusion): the specification here. */
function composed(name: string, o: Opts) {
  const state = new Map<T, Record<string, T | number>>();
  const get = (o2: Opts, k: string, d: number) => (o2[k] as number | undefined) ?? d;
  return (ps: T[]) =>
    ad.noGrad(() => {
      for (const p of ps) {
        const s = state.get(p) ?? {};
        state.set(p, s);
        const wd = get(o, 'weightDecay', name === 'AdamW' ? 1e-2 : 0);
        let g = o.maximize ? (p.grad as T).neg() : (p.grad as T);
        if (wd !== 0 && name !== 'AdamW') g = g.add(p, { alpha: wd });
        const lr = o.lr as number;
        if (name === 'SGD') {
          const mu = get(o, 'momentum', 0);
          let d = g;
          if (mu !== 0) {
            let buf = s.buf as T | undefined;
            if (!buf) buf = g.clone();
            else buf.mul_(mu).add_(g, { alpha: 1 - get(o, 'dampening', 0) });
            s.buf = buf;
            d = o.nesterov ? g.add(buf, { alpha: mu }) : buf;
          }
          p.add_(d, { alpha: -lr });
        } else if (name === 'Adam' || name === 'AdamW') {
          const [b1, b2] = (o.betas as [number, number] | undefined) ?? [0.9, 0.999];
          const eps = get(o, 'eps', 1e-8);
          s.step = ((s.step as number | undefined) ?? 0) + 1;
          s.m ??= ad.zerosLike(p);
          s.v ??= ad.zerosLike(p);
          if (name === 'AdamW') p.mul_(1 - lr * wd);
          (s.m as T).mul_(b1).add_(g, { alpha: 1 - b1 });
          (s.v as T).mul_(b2).add_(g.mul(1 - b2).mul(g));
          const bc1 = 1 - b1 ** s.step;
          const bc2 = 1 - b2 ** s.step;
          let second = s.v as T;
          if (o.amsgrad) {
            s.max ??= ad.zerosLike(p);
            (s.max as T).copy_(ad.maximum(s.max as T, second));
            second = s.max as T;
          }
          p.add_((s.m as T).mul(-lr / bc1).div(second.sqrt().div(Math.sqrt(bc2)).add(eps)));
        } else if (name === 'RMSprop') {
          const alpha = get(o, 'alpha', 0.99);
          const mu = get(o, 'momentum', 0);
          s.sq ??= ad.zerosLike(p);
          (s.sq as T).mul_(alpha).add_(g.mul(1 - alpha).mul(g));
          let avg: T;
          if (o.centered) {
            s.ga ??= ad.zerosLike(p);
            (s.ga as T).mul_(alpha).add_(g, { alpha: 1 - alpha });
            avg = (s.sq as T).sub((s.ga as T).mul(s.ga as T)).sqrt();
          } else avg = (s.sq as T).sqrt();
          avg = avg.add(get(o, 'eps', 1e-8));
          if (mu > 0) {
            s.buf ??= ad.zerosLike(p);
            (s.buf as T).mul_(mu).add_(g.div(avg));
            p.add_(s.buf as T, { alpha: -lr });
          } else p.add_(g.mul(-lr).div(avg));
        } else {
          // Adagrad (lrDecay 0, initial accumulator 0).
          s.sum ??= ad.zerosLike(p);
          (s.sum as T).add_(g.mul(g));
          p.add_(g.mul(-lr).div((s.sum as T).sqrt().add(get(o, 'eps', 1e-10))));
        }
      }
    });
}

const CASES: [string, Opts][] = [
  ['SGD', { lr: 0.1 }],
  ['SGD', { lr: 0.1, weightDecay: 0.01 }],
  ['SGD', { lr: 0.1, momentum: 0.9 }],
  ['SGD', { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 }],
  ['SGD', { lr: 0.1, momentum: 0.9, dampening: 0.1 }],
  ['SGD', { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 }],
  ['SGD', { lr: 0.1, momentum: 0.9, nesterov: true }],
  ['SGD', { lr: 0.1, momentum: 0.8, maximize: true, weightDecay: 0.01 }],
  ['Adam', { lr: 0.01 }],
  ['Adam', { lr: 0.01, weightDecay: 0.01, amsgrad: true }],
  ['Adam', { lr: 0.01, maximize: true }],
  ['AdamW', { lr: 0.01 }],
  ['RMSprop', { lr: 0.01 }],
  ['RMSprop', { lr: 0.01, momentum: 0.9, centered: true, weightDecay: 0.01 }],
  ['Adagrad', { lr: 0.1, weightDecay: 0.01 }],
];

const STEPS = 4;

for (const backend of ad.backendNames()) {
  describe(`fused optimizer updates are bit-identical to the composed ops (${backend})`, () => {
    for (const [name, opts] of CASES)
      for (const dtype of ['float32', 'float64'] as const)
        test(`${name} ${JSON.stringify(opts)} ${dtype}`, () => {
          ad.setBackend(backend);
          // Sizes past the wasm elementwise threshold (16K) as well as small ones, a matrix and a vector.
          const shapes = [[130, 140], [7]];
          const make = () => {
            ad.manualSeed(3);
            return shapes.map((s) => ad.randn(s, { dtype }).requiresGrad_());
          };
          const ours = make();
          const ref = make();
          const Opt = (ad.optim as unknown as Record<string, new (p: T[], o: Opts) => ad.optim.Optimizer>)[name];
          const opt = new Opt(ours, opts);
          const step = composed(name, opts);
          for (let k = 0; k < STEPS; k++) {
            ad.manualSeed(100 + k);
            const grads = shapes.map((s) => ad.randn(s, { dtype }));
            ours.forEach((p, i) => {
              p.grad = grads[i].clone();
            });
            ref.forEach((p, i) => {
              p.grad = grads[i].clone();
            });
            opt.step();
            step(ref);
          }
          ours.forEach((p, i) => {
            const a = p.dataSync();
            const b = ref[i].dataSync();
            for (let j = 0; j < a.length; j++)
              if (!Object.is(a[j], b[j])) assert.fail(`param ${i}[${j}]: ${a[j]} ≠ ${b[j]} (composed)`);
          });
        });
  });
}

describe('_addScaledInto', () => {
  const same = (a: T, b: T) => assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));

  test('into a fresh tensor, into x, and into y itself: x + alpha·y as add gives it', () => {
    for (const backend of ad.backendNames()) {
      ad.setBackend(backend);
      ad.manualSeed(1);
      const x = ad.randn([200, 100]);
      const y = ad.randn([200, 100]);
      const want = x.add(y, { alpha: 0.3 });
      same(
        ad.noGrad(() => _addScaledInto(null, x, y, 0.3)),
        want,
      );
      const y2 = y.clone();
      const v0 = y2._storage.version;
      ad.noGrad(() => _addScaledInto(y2, x, y2, 0.3));
      same(y2, want);
      assert.equal(y2._storage.version, v0 + 1, 'the write bumps the version counter');
      const x2 = x.clone();
      ad.noGrad(() => _addScaledInto(x2, x2, y, 0.3));
      same(x2, want);
    }
  });

  test('falls back to the composed ops (same values) when the kernel cannot run', () => {
    ad.manualSeed(2);
    const x = ad.randn([6, 5]);
    const y = ad.randn([6, 5]);
    const want = x.add(y, { alpha: -2 });
    // A non-contiguous out, a y overlapping out without being it, another dtype, and grad mode on.
    const t = ad.zeros([5, 6]).mT;
    ad.noGrad(() => _addScaledInto(t, x, y, -2));
    same(t, want);
    const buf = ad.zeros([7, 5]);
    const overlap = buf.narrow(0, 1, 6);
    overlap.copy_(y);
    const out = buf.narrow(0, 0, 6);
    ad.noGrad(() => _addScaledInto(out, x, overlap, -2));
    same(out, want);
    same(
      ad.noGrad(() => _addScaledInto(null, x.double(), y, -2)),
      x.double().add(y, { alpha: -2 }),
    );
    const leaf = x.clone().requiresGrad_();
    const r = _addScaledInto(null, leaf, y, -2);
    assert.ok(r.requiresGrad, 'with grad mode on the composed (recorded) ops run');
    same(r.detach(), want);
  });
});
