/**
 * @file Every fast backend against the js reference backend, from the op table: for each op, sample and layout
 * (contiguous, transposed, strided, expanded), the forward value and the gradient of every input (for one seeded
 * random cotangent) must match the reference: float64 within 1e-12 relative, float32 within 1e-5. test/ops.test.ts
 * runs the full gradient checks on every backend as well; this file pins each backend to the specification.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { type Arg, OP_TESTS } from '../src/ops/registry.js';
import { assertClose, spec } from './helpers.js';
import { build, call, VARIANTS } from './op-variants.js';

const fast = ad.backendNames().filter((b) => b !== 'js');
after(() => ad.setBackend('js'));

/** Forward value and input gradients of one sample on one backend (the inputs' dtype as given). */
function run(backend: string, f: (...xs: ad.Tensor[]) => ad.Tensor, leaves: ad.Tensor[], cot: ad.Tensor | null) {
  ad.setBackend(backend);
  const out = f(...leaves);
  const diff = leaves.filter((l) => l.requiresGrad);
  const grads =
    cot && out.requiresGrad && diff.length
      ? ad.autograd.grad(out, diff, { gradOutputs: cot.to(out.dtype), allowUnused: true })
      : [];
  return { out: Array.from(out.dataSync()), grads: grads.map((g) => (g ? Array.from(g.dataSync()) : null)) };
}

test('the wasm backend is registered (and blas where OpenBLAS loads)', () => {
  assert.ok(ad.backendNames().includes('wasm'), ad.backendNames().join(', '));
});

test("setBackend('auto') picks the fastest backend here, and describeBackend says what runs", () => {
  ad.setBackend('auto');
  assert.equal(ad.getBackend(), ad.backendNames().includes('blas') ? 'blas' : 'wasm');
  assert.equal(ad.fastestBackend(), ad.getBackend());
  assert.match(ad.describeBackend('js'), /reference/);
  assert.match(ad.describeBackend('wasm'), /WebAssembly SIMD.*thread/);
  ad.setBackend('js');
  assert.throws(() => ad.setBackend('cuda'), /unknown backend 'cuda'; available: js, wasm.*\(or 'auto'\)/);
});

test('setNumThreads takes a positive integer and says how to run single-threaded', () => {
  const before = ad.getNumThreads();
  assert.throws(
    () => ad.setNumThreads(0),
    (e: Error) => e instanceof ad.ValueError && /pass 1 to run single-threaded/.test(e.message),
  );
  assert.throws(() => ad.setNumThreads(1.5), ad.ValueError);
  ad.setNumThreads(1);
  assert.equal(ad.getNumThreads(), 1);
  ad.setNumThreads(before);
});

for (const backend of fast) {
  describe(`${backend} backend against the js reference`, () => {
    let seed = 7;
    for (const op of OP_TESTS) {
      test(op.name, () => {
        op.samples.forEach((s, si) => {
          for (const v of s.noVariants ? VARIANTS.slice(0, 1) : VARIANTS) {
            ad.setBackend('js');
            ad.manualSeed(seed++);
            const built = build(s, v);
            if (!built) continue;
            const f = (...ls: ad.Tensor[]) => call(op, s, built.toInputs(ls));
            const probe = ad.noGrad(() => f(...built.leaves));
            const cot =
              op.differentiable === false || !probe.dtype.startsWith('float')
                ? null
                : ad.randn(probe.shape, { dtype: 'float64' });
            const what = `${op.name} sample ${si} ${s.args.map((a: Arg) => JSON.stringify(spec(a).shape)).join(' ')} ${v}`;
            for (const dtype of ['float64', 'float32'] as const) {
              const leaves = built.leaves.map((l) =>
                l.dtype === 'float64' && dtype === 'float32' ? l.detach().float().requiresGrad_(l.requiresGrad) : l,
              );
              const want = run('js', f, leaves, cot);
              const got = run(backend, f, leaves, cot);
              const [rtol, atol] = dtype === 'float64' ? [1e-12, 1e-12] : [1e-5, 1e-5];
              assertClose(got.out, want.out, rtol, atol, `${what} ${dtype} forward`);
              want.grads.forEach((g, i) => {
                if (g) assertClose(got.grads[i] ?? [], g, rtol, atol, `${what} ${dtype} gradient of input ${i}`);
              });
            }
          }
        });
      });
    }
  });
}
