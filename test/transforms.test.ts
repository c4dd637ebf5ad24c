/**
 * @file The function transforms (ad.func): each on functions with known derivatives, Jacobians in both modes
 * against finite differences, Hessians against closed forms, pytrees, compositions to third order, linearize's
 * adjoint identity, the guarantee that no transform touches .grad, and every misuse error.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { OP_TESTS, type OpTest, type Sample } from '../src/ops/registry.js';
import { assertClose, assertThrowsMsg, isDiffArg, makeArg } from './helpers.js';

const { grad, valueAndGrad, vjp, jvp, jacobian, hessian, hvp, linearize, treeFlatten, treeUnflatten, treeMap } =
  ad.func;
type T = ad.Tensor;

const f64 = (values: ad.NestedArray) => ad.tensor(values, { dtype: 'float64' });
const arr = (t: T | null) => Array.from(t!.dataSync() as ArrayLike<number>);
const randn = (shape: number[]) => ad.randn(shape, { dtype: 'float64' });
const dot = (a: T, b: T) => a.mul(b).sum().item();

/** Central differences of f (tensor → tensor) at x: shape out.shape ++ x.shape, flattened. */
function fdJacobian(f: (x: T) => T, x: T, eps = 1e-6): number[] {
  const base = arr(x);
  const nOut = f(x).numel();
  const J = new Array<number>(nOut * base.length).fill(0);
  for (let j = 0; j < base.length; j++) {
    const at = (d: number) => {
      const v = base.slice();
      v[j] += d;
      return arr(f(ad.tensor(v, { dtype: 'float64' }).reshape(x.shape as number[])));
    };
    const p = at(eps);
    const m = at(-eps);
    for (let i = 0; i < nOut; i++) J[i * base.length + j] = (p[i] - m[i]) / (2 * eps);
  }
  return J;
}

/** diag(s) − s·sᵀ: the softmax Jacobian, and the Hessian of logsumexp. */
function softmaxJac(x: number[]): number[] {
  const m = Math.max(...x);
  const e = x.map((v) => Math.exp(v - m));
  const z = e.reduce((a, b) => a + b);
  const s = e.map((v) => v / z);
  return s.flatMap((si, i) => s.map((sj, j) => (i === j ? si : 0) - si * sj));
}

describe('pytrees', () => {
  test('flatten and unflatten round-trip; non-tensor leaves are structure and pass through', () => {
    const a = f64([1, 2]);
    const b = f64(3);
    const tree = { w: [a, 'relu', { b, n: 4 }], lr: null };
    const [leaves, def] = treeFlatten(tree);
    assert.deepEqual(leaves, [a, b]);
    assert.equal(def.numLeaves, 2);
    assert.equal(String(def), '{w: [*, "relu", {b: *, n: 4}], lr: null}');
    assert.deepEqual(def.leafPaths('p'), ['p.w[0]', 'p.w[2].b']);
    const back = treeUnflatten(def, ['A', 'B']);
    assert.deepEqual(back, { w: ['A', 'relu', { b: 'B', n: 4 }], lr: null });
    assert.ok(def.equals(treeFlatten({ lr: 0, w: [b, 'x', { n: 1, b: a }] })[1]), 'key order and constants ignored');
    assert.ok(!def.equals(treeFlatten({ w: [a, b, { b, n: 4 }], lr: null })[1]));
    const doubled = treeMap((x: T, y: T) => x.add(y), tree, { w: [a, 0, { b, n: 0 }], lr: 1 });
    assert.deepEqual(arr(doubled.w[0]), [2, 4]);
    assert.equal(doubled.w[1], 'relu');
  });

  test('mismatched structures and cycles are named with a path', () => {
    const a = f64([1]);
    assertThrowsMsg(
      () => treeMap((x: T) => x, { w: [a, a] }, { w: [a] }),
      ad.ValueError,
      'treeMap',
      'at tree 1.w',
      'an array of 2',
      'an array of 1',
    );
    assertThrowsMsg(
      () => treeMap((x: T) => x, { w: a, b: a }, { w: a, c: a }),
      ad.ValueError,
      'the keys differ',
      'lacks b',
      'has extra c',
    );
    assertThrowsMsg(() => treeUnflatten(treeFlatten([a, a])[1], [a]), ad.ValueError, '2 tensor leaves but 1');
    const cyc: unknown[] = [a];
    cyc.push(cyc);
    assertThrowsMsg(() => treeFlatten(cyc), ad.ValueError, 'cycle');
  });
});

describe('grad and valueAndGrad', () => {
  test('grad of Σ sin(x)·x is sin x + x cos x; a plain input gives a plain gradient', () => {
    const x = f64([0.5, -1, 2, 0]);
    const g = grad((x: T) => x.sin().mul(x).sum())(x);
    assertClose(
      arr(g),
      arr(x).map((v) => Math.sin(v) + v * Math.cos(v)),
      1e-14,
    );
    assert.equal(g.requiresGrad, false);
    assert.equal(x.grad, null);
  });

  test('argnums: one argument, a list, negative positions; unused arguments get zeros', () => {
    const x = f64([1, 2]);
    const y = f64([3, -1]);
    const z = f64([5, 5]);
    const f = (x: T, y: T, _z: T) => x.mul(y).pow(2).sum();
    // ∂/∂x = 2·x·y², ∂/∂y = 2·x²·y.
    assertClose(arr(grad(f, { argnums: 1 })(x, y, z)), [6, -8]);
    const [gx, gy] = grad(f, { argnums: [0, 1] })(x, y, z);
    assertClose(arr(gx), [18, 4]);
    assertClose(arr(gy), [6, -8]);
    assertClose(arr(grad(f, { argnums: -1 })(x, y, z)), [0, 0]);
  });

  test('pytree arguments: gradients have the argument structure; ints get null, constants pass through', () => {
    const params = {
      w: f64([
        [1, 2],
        [3, 4],
      ]),
      b: f64([0.5, -0.5]),
      act: 'tanh',
      idx: ad.tensor([1], { dtype: 'int32' }),
    };
    const x = f64([[1, -1]]);
    const loss = (p: typeof params, x: T) => x.matmul(p.w).add(p.b).tanh().sum();
    const [value, g] = valueAndGrad(loss)(params, x);
    const pre = [1 - 3 + 0.5, 2 - 4 - 0.5];
    const d = pre.map((v) => 1 - Math.tanh(v) ** 2);
    assertClose([value.item()], [Math.tanh(pre[0]) + Math.tanh(pre[1])], 1e-14);
    assertClose(arr(g.w), [d[0], d[1], -d[0], -d[1]], 1e-14);
    assertClose(arr(g.b), d, 1e-14);
    assert.equal(g.act, 'tanh');
    assert.equal(g.idx, null);
    // An array of arguments, and a list of argnums over trees.
    const [gl, gx] = grad((ps: T[], x: T) => ps[0].mul(ps[1]).mul(x).sum(), { argnums: [0, 1] })(
      [f64([2]), f64([3])],
      f64([4]),
    );
    assertClose(arr(gl[0]), [12]);
    assertClose(arr(gl[1]), [8]);
    assertClose(arr(gx), [6]);
  });

  test('hasAux returns [[value, aux], grads] (grad: [grads, aux]) and does not differentiate aux', () => {
    const x = f64([1, 2, 3]);
    const f = (x: T): [T, { mean: T; tag: string }] => [x.pow(2).sum(), { mean: x.mean(), tag: 'ok' }];
    const [[v, aux], g] = valueAndGrad(f, { hasAux: true })(x);
    assert.equal(v.item(), 14);
    assert.equal(aux.mean.item(), 2);
    assert.equal(aux.tag, 'ok');
    assertClose(arr(g), [2, 4, 6]);
    const [g2, aux2] = grad(f, { hasAux: true })(x);
    assertClose(arr(g2), [2, 4, 6]);
    assert.equal(aux2.tag, 'ok');
  });

  test('inputs that require grad: the result is differentiable, and no transform writes .grad or runs hooks', () => {
    const p = f64([0.5, -1, 2]).requiresGrad_(true);
    let fired = 0;
    p.registerHook(() => {
      fired++;
    });
    const g = grad((x: T) => x.pow(3).sum())(p);
    assert.equal(g.requiresGrad, true, 'differentiable for an outer reverse pass');
    assert.equal(p.grad, null);
    assert.equal(fired, 0);
    g.sum().backward();
    assertClose(arr(p.grad), [3, -6, 12]);
    // Closed-over tensors that require grad make the result differentiable with respect to them too.
    const W = f64([1, 2, 3]).requiresGrad_(true);
    const gc = grad((x: T) => x.mul(x).mul(W).sum())(f64([1, -1, 2]));
    assert.equal(W.grad, null);
    gc.sum().backward();
    assertClose(arr(W.grad), [2, -2, 4]);
    // Under noGrad the transform still differentiates; the result is plain.
    const gn = ad.noGrad(() => grad((x: T) => x.pow(3).sum())(p));
    assertClose(arr(gn), [0.75, 3, 12]);
    assert.equal(gn.requiresGrad, false);
  });
});

describe('vjp and jvp', () => {
  test('vjp of X·W pulls U back to (U·Wᵀ, Xᵀ·U) and can be called again', () => {
    ad.manualSeed(1);
    const X = randn([4, 3]);
    const W = randn([3, 2]);
    const [Y, pull] = vjp((X: T, W: T) => X.matmul(W), X, W);
    assertClose(arr(Y), arr(X.matmul(W)), 1e-14);
    for (let k = 0; k < 2; k++) {
      const U = randn([4, 2]);
      const [dX, dW] = pull(U);
      assertClose(arr(dX), arr(U.matmul(W.T)), 1e-13);
      assertClose(arr(dW), arr(X.T.matmul(U)), 1e-13);
    }
  });

  test('vjp over pytree outputs; a null cotangent leaf is a zero', () => {
    const x = f64([1, 2]);
    const [out, pull] = vjp((x: T) => ({ sq: x.pow(2), s: x.sum(), note: 'n' }), x);
    assert.equal(out.note, 'n');
    const [g] = pull({ sq: f64([1, 1]), s: null as unknown as T, note: 'n' });
    assertClose(arr(g), [2, 4]);
    const [g2] = pull({ sq: f64([0, 0]), s: f64(3), note: 'n' });
    assertClose(arr(g2), [3, 3]);
  });

  test('jvp pushes tangents through the JVP rules: sin(x)·x, softmax, logsumexp', () => {
    const x = f64([0.3, -1.2, 2]);
    const t = f64([1, -2, 0.5]);
    const [y, dy] = jvp((x: T) => x.sin().mul(x), [x], [t]);
    assertClose(
      arr(y),
      arr(x).map((v) => Math.sin(v) * v),
      1e-15,
    );
    assertClose(
      arr(dy),
      arr(x).map((v, i) => (Math.cos(v) * v + Math.sin(v)) * arr(t)[i]),
      1e-14,
    );
    const S = softmaxJac(arr(x));
    const [, ds] = jvp((x: T) => x.softmax(0), [x], [t]);
    assertClose(
      arr(ds),
      [0, 1, 2].map((i) => [0, 1, 2].reduce((a, j) => a + S[i * 3 + j] * arr(t)[j], 0)),
      1e-14,
    );
    const [, dl] = jvp((x: T) => x.logsumexp(0), [x], [t]);
    assertClose([dl.item()], [dot(x.softmax(0), t)], 1e-14);
  });

  test('jvp over pytree primals; a null tangent is zero', () => {
    const p = { w: f64([1, 2]), b: f64([3, 4]) };
    const [out, dout] = jvp((p: { w: T; b: T }) => [p.w.mul(p.b), p.w.sum()], [p], [{ w: f64([1, 0]), b: null }]);
    assertClose(arr(out[0]), [3, 8]);
    assertClose(arr(dout[0]), [3, 0]);
    assertClose(arr(dout[1]), [1]);
  });
});

describe('jacobian, hessian, hvp', () => {
  test('jacobian fwd = rev = finite differences, shaped out.shape ++ x.shape', () => {
    ad.manualSeed(2);
    const W = randn([3, 2]);
    const f = (X: T) => X.matmul(W).tanh();
    const X = randn([2, 3]);
    const Jr = jacobian(f, X);
    const Jf = jacobian(f, X, { mode: 'fwd' });
    assert.deepEqual(Jr.shape, [2, 2, 2, 3]);
    assert.deepEqual(Jf.shape, [2, 2, 2, 3]);
    assertClose(arr(Jf), arr(Jr), 1e-13, 1e-15);
    assertClose(arr(Jr), fdJacobian(f, X), 1e-6, 1e-8);
    // Softmax against diag(s) − s·sᵀ; 0-d and size-0 shapes.
    const x = f64([0.1, -0.7, 1.3, 0.4]);
    assertClose(arr(jacobian((x: T) => x.softmax(0), x)), softmaxJac(arr(x)), 1e-14, 1e-15);
    assert.deepEqual(jacobian((x: T) => x.sum(), x).shape, [4]);
    const s = f64(0.5);
    assertClose(arr(jacobian((s: T) => s.exp(), s, { mode: 'fwd' })), [Math.exp(0.5)], 1e-15);
    assert.deepEqual(jacobian((x: T) => x.mul(2), ad.zeros([0, 2], { dtype: 'float64' })).shape, [0, 2, 0, 2]);
    assert.deepEqual(jacobian((x: T) => x.mul(2), ad.zeros([0], { dtype: 'float64' }), { mode: 'fwd' }).shape, [0, 0]);
  });

  test('jacobian over pytrees: an output-shaped tree of input-shaped trees, the same in both modes', () => {
    const x = { a: f64([1, 2]), b: f64([3, 4]) };
    const f = (p: { a: T; b: T }) => ({ prod: p.a.mul(p.b), total: p.a.sum() });
    for (const mode of ['rev', 'fwd'] as const) {
      const J = jacobian(f, x, { mode });
      assertClose(arr(J.prod.a), [3, 0, 0, 4]);
      assertClose(arr(J.prod.b), [1, 0, 0, 2]);
      assertClose(arr(J.total.a), [1, 1]);
      assertClose(arr(J.total.b), [0, 0]);
    }
  });

  test('Hessians of known functions: ½xᵀAx → (A+Aᵀ)/2, logsumexp → diag(s) − s·sᵀ, Σx³ → diag(6x)', () => {
    ad.manualSeed(3);
    const A = randn([4, 4]);
    const x = randn([4]);
    const H = hessian((x: T) => x.dot(A.matmul(x)).mul(0.5), x);
    assertClose(arr(H), arr(A.add(A.T).div(2)), 1e-14, 1e-15);
    assertClose(arr(hessian((x: T) => x.logsumexp(0), x)), softmaxJac(arr(x)), 1e-13, 1e-15);
    const H3 = hessian((x: T) => x.pow(3).sum(), x);
    assertClose(arr(H3), arr(ad.eye(4, { dtype: 'float64' }).mul(x.mul(6))), 1e-14);
    // A pytree Hessian: f(a, b) = Σ a·b + Σ a² → ∂²/∂a² = 2I, ∂²/∂a∂b = I, ∂²/∂b² = 0.
    const Hp = hessian((p: { a: T; b: T }) => p.a.mul(p.b).sum().add(p.a.pow(2).sum()), {
      a: f64([1, 2]),
      b: f64([3, 4]),
    });
    assertClose(arr(Hp.a.a), [2, 0, 0, 2]);
    assertClose(arr(Hp.a.b), [1, 0, 0, 1]);
    assertClose(arr(Hp.b.a), [1, 0, 0, 1]);
    assertClose(arr(Hp.b.b), [0, 0, 0, 0]);
  });

  test('hvp is H·v without forming H', () => {
    ad.manualSeed(4);
    const x = randn([5]);
    const v = randn([5]);
    const f = (x: T) => x.logsumexp(0).add(x.sin().mul(x).sum());
    const H = hessian(f, x);
    assertClose(arr(hvp(f, x, v)), arr(H.matmul(v)), 1e-13, 1e-15);
  });
});

describe('compositions', () => {
  // f(x) = x²·sin x and its derivatives, for 0-d tensors.
  const f = (x: T) => x.pow(2).mul(x.sin());
  const d1 = (x: number) => 2 * x * Math.sin(x) + x * x * Math.cos(x);
  const d2 = (x: number) => 2 * Math.sin(x) + 4 * x * Math.cos(x) - x * x * Math.sin(x);
  const d3 = (x: number) => 6 * Math.cos(x) - 6 * x * Math.sin(x) - x * x * Math.cos(x);

  test('grad(grad(f)) and grad(grad(grad(f))) match the analytic derivatives', () => {
    for (const v of [0.7, -1.3, 2.5]) {
      const x = f64(v);
      assertClose([grad(f)(x).item()], [d1(v)], 1e-14);
      assertClose([grad(grad(f))(x).item()], [d2(v)], 1e-13);
      assertClose([grad(grad(grad(f)))(x).item()], [d3(v)], 1e-13);
    }
  });

  test('jvp(grad(f)) = hvp = hessian·v; grad of jvp; jvp of jvp', () => {
    ad.manualSeed(5);
    const g = (x: T) => x.pow(3).sum().add(x.logsumexp(0));
    const x = randn([4]);
    const v = randn([4]);
    const H = hessian(g, x);
    const [gx, Hv] = jvp(grad(g), [x], [v]);
    assertClose(arr(gx), arr(grad(g)(x)), 1e-15);
    assertClose(arr(Hv), arr(H.matmul(v)), 1e-13, 1e-15);
    assertClose(arr(hvp(g, x, v)), arr(Hv), 1e-14, 1e-15);
    // ∇ₓ ⟨∇g(x), v⟩ = H·v as a grad of a jvp.
    const gj = grad((x: T) => jvp(g, [x], [v])[1])(x);
    assertClose(arr(gj), arr(Hv), 1e-13, 1e-15);
    // The second directional derivative ∂²g/∂u∂v = uᵀ·H·v as a jvp of a jvp.
    const u = randn([4]);
    const jj = jvp((x: T) => jvp(g, [x], [u])[1], [x], [v])[1];
    assertClose([jj.item()], [dot(u, H.matmul(v))], 1e-13);
  });

  test('jacobian(jacobian(f)) = jacobian(grad(f)) = hessian, in every mode mix', () => {
    ad.manualSeed(6);
    const g = (x: T) => x.sin().mul(x).sum().add(x.logsumexp(0));
    const x = randn([3]);
    const H = arr(hessian(g, x));
    for (const outer of ['rev', 'fwd'] as const)
      for (const inner of ['rev', 'fwd'] as const) {
        const J2 = jacobian((y: T) => jacobian(g, y, { mode: inner }), x, { mode: outer });
        assert.deepEqual(J2.shape, [3, 3]);
        assertClose(arr(J2), H, 1e-13, 1e-14, `${outer}-over-${inner}`);
      }
    assertClose(arr(jacobian(grad(g), x)), H, 1e-13, 1e-14);
  });

  test('gradients with respect to a tangent and a cotangent', () => {
    const x = f64([0.5, -1, 2]);
    const u = f64([1, 2, 3]);
    const g = (x: T) => x.pow(3).sum();
    // d/dv ⟨u, H·v⟩ = Hᵀ·u = 6x·u.
    const gv = grad((v: T) => hvp(g, x, v).mul(u).sum())(f64([1, 1, 1]));
    assertClose(arr(gv), [3, -12, 36]);
    // jvp of a pullback: the pullback is linear in the cotangent, so its tangent is the pullback of the tangent.
    const [, pull] = vjp((y: T) => y.sin(), x);
    const jt = jvp((c: T) => pull(c)[0], [ad.onesLike(x)], [u])[1];
    assertClose(
      arr(jt),
      arr(x).map((v, i) => Math.cos(v) * arr(u)[i]),
      1e-15,
    );
    // Mixed partials through argnums: ∂/∂z ∂/∂y Σ (y·z)² = 4·y·z.
    const h = (y: T, z: T) => y.mul(z).pow(2).sum();
    assertClose(arr(grad((z: T) => grad(h)(x, z).sum())(u)), [2, -8, 24]);
  });
});

describe('every op to second order through the transforms', () => {
  /**
   * For each op sample, L(xs) = Σ r·op(xs) for a fixed random r: hvp (forward-over-reverse) must equal the gradient
   * of ⟨∇L, v⟩ (reverse-over-reverse), and a jvp of a jvp must give vᵀ·H·v.
   */
  function check(op: OpTest, s: Sample, seed: number): void {
    ad.manualSeed(seed);
    const consts = s.args.map((a) => makeArg(a).detach());
    const idx = s.args.map((a, i) => (isDiffArg(a) ? i : -1)).filter((i) => i >= 0);
    const run = (xs: T[]) => {
      const all = consts.slice();
      idx.forEach((i, k) => {
        all[i] = xs[k];
      });
      return s.call ? s.call(op.fn, ...all) : op.fn(...all);
    };
    const out = run(idx.map((i) => consts[i]));
    if (!idx.length || out.dtype !== 'float64') return;
    const r = randn(out.shape as number[]);
    const L = (xs: T[]) => run(xs).mul(r).sum();
    const xs = idx.map((i) => consts[i]);
    const vs = xs.map((x) => randn(x.shape as number[]));
    const fwdRev = hvp(L, xs, vs);
    const revRev = grad((ys: T[]) => grad(L)(ys).reduce((a, g, k) => a.add(g.mul(vs[k]).sum()), f64(0)))(xs);
    fwdRev.forEach((h, k) => {
      assertClose(arr(h), arr(revRev[k]), 1e-9, 1e-10, `${op.name}: hvp vs rev-over-rev, input ${idx[k]}`);
    });
    const vHv = fwdRev.reduce((a, h, k) => a + dot(h, vs[k]), 0);
    const ff = jvp((ys: T[]) => jvp(L, [ys], [vs])[1], [xs], [vs])[1];
    assertClose([ff.item()], [vHv], 1e-9, 1e-10, `${op.name}: jvp of jvp vs vᵀHv`);
  }

  for (const op of OP_TESTS)
    if (op.differentiable !== false && op.gradgrad !== false)
      test(op.name, () => {
        op.samples.forEach((s, si) => {
          check(op, s, 1000 + si);
        });
      });
});

describe('linearize', () => {
  test('for f(X) = X·W: apply(T) = T·W, transpose(U) = U·Wᵀ', () => {
    ad.manualSeed(7);
    const X = randn([2, 3]);
    const W = randn([3, 4]);
    const [Y, J] = linearize((X: T) => X.matmul(W), X);
    assertClose(arr(Y), arr(X.matmul(W)), 1e-14);
    const Tn = randn([2, 3]);
    const U = randn([2, 4]);
    assertClose(arr(J.apply(Tn)), arr(Tn.matmul(W)), 1e-14);
    assertClose(arr(J.transpose(U)), arr(U.matmul(W.T)), 1e-14);
  });

  test('⟨J·t, u⟩ = ⟨t, Jᵀ·u⟩ for a nonlinear map, over pytrees', () => {
    ad.manualSeed(8);
    const x = { a: randn([3, 2]), b: randn([2]) };
    const f = (p: { a: T; b: T }) => [p.a.matmul(p.b).tanh(), p.a.softmax(1).mul(p.b)];
    const [, J] = linearize(f, x);
    for (let k = 0; k < 3; k++) {
      const t = { a: randn([3, 2]), b: randn([2]) };
      const u = [randn([3]), randn([3, 2])];
      const Jt = J.apply(t);
      const JTu = J.transpose(u as [T, T]);
      const lhs = dot(Jt[0], u[0]) + dot(Jt[1], u[1]);
      const rhs = dot(t.a, JTu.a) + dot(t.b, JTu.b);
      assertClose([lhs], [rhs], 1e-12, 1e-14);
    }
  });
});

describe('misuse errors', () => {
  const x = f64([1, 2, 3]);
  const sq = (x: T) => x.pow(2).sum();

  test('non-scalar output for grad, hessian, hvp', () => {
    assertThrowsMsg(
      () => grad((x: T) => x.pow(2))(x),
      ad.ShapeError,
      'grad: f must return a one-element tensor',
      'shape [3]',
      '.sum()',
    );
    assertThrowsMsg(() => hessian((x: T) => x.mul(2), x), ad.ShapeError, 'hessian:', 'shape [3]');
    assertThrowsMsg(() => hvp((x: T) => x.mul(2), x, x), ad.ShapeError, 'hvp:', 'shape [3]');
    assertThrowsMsg(
      () => grad((x: T) => x.gt(0).sum())(x),
      ad.DTypeError,
      'grad: f must return a floating-point tensor',
    );
  });

  test('wrong tangent shape, dtype or structure', () => {
    assertThrowsMsg(
      () => jvp(sq, [x], [f64([1, 2])]),
      ad.ShapeError,
      'jvp: the tangent tangents[0] has shape [2] but the primal primals[0] has shape [3]',
      "its primal's shape and dtype",
    );
    assertThrowsMsg(
      () => jvp(sq, [x], [ad.tensor([1, 2, 3], { dtype: 'float32' })]),
      ad.DTypeError,
      'jvp: the tangent tangents[0] is float32 but the primal primals[0] is float64',
    );
    assertThrowsMsg(
      () => jvp((p: { w: T }) => p.w.sum(), [{ w: x }], [{ w: f64([[1, 2, 3]]) }]),
      ad.ShapeError,
      'tangents[0].w has shape [1, 3]',
      'primals[0].w has shape [3]',
    );
    assertThrowsMsg(
      () => jvp((p: { w: T }) => p.w.sum(), [{ w: x }], [[x] as unknown as { w: T }]),
      ad.ValueError,
      'jvp: tangents must have the same structure as primals',
      'at tangents[0]',
    );
    assertThrowsMsg(() => jvp(sq, [x], [] as unknown as [T]), ad.AutogradError, 'one tangent per primal (1)');
    assertThrowsMsg(() => jvp(sq, x as unknown as [T], [x]), ad.AutogradError, 'primals must be an array');
    assertThrowsMsg(() => jvp(sq, [x], [3 as unknown as T]), ad.AutogradError, 'must be a Tensor', 'a number (3)');
    assertThrowsMsg(
      () => jvp((i: T) => i.float().sum(), [ad.tensor([1], { dtype: 'int32' })], [f64([1])]),
      ad.DTypeError,
      'primals[0] is a int32 tensor, which has no tangent',
    );
    assertThrowsMsg(() => hvp(sq, x, f64([1])), ad.ShapeError, 'hvp: the tangent v has shape [1]', 'x has shape [3]');
    const [, J] = linearize((x: T) => x.mul(2), x);
    assertThrowsMsg(() => J.apply(f64([1])), ad.ShapeError, 'linearize apply: the tangent t has shape [1]');
    assertThrowsMsg(
      () => J.transpose(f64([1, 2])),
      ad.ShapeError,
      'linearize transpose: the cotangent for out has shape [2]',
      'shape [3]',
    );
    const [, pull] = vjp((x: T) => x.mul(2), x);
    assertThrowsMsg(() => pull(ad.tensor([1, 2, 3], { dtype: 'float32' })), ad.DTypeError, 'vjp: the cotangent');
  });

  test('argnums out of range, not integers, repeated', () => {
    assertThrowsMsg(
      () => grad(sq, { argnums: 1 })(x),
      ad.AutogradError,
      'grad: argnums 1 is out of range',
      'called with 1 argument',
      '0..0',
    );
    assertThrowsMsg(() => grad(sq, { argnums: [0, -3] })(x), ad.AutogradError, 'argnums -3 is out of range');
    assertThrowsMsg(
      () => valueAndGrad(sq, { argnums: 0.5 }),
      ad.ArgumentError,
      'valueAndGrad: argnums must be a whole number',
      'got 0.5',
    );
    assertThrowsMsg(() => grad(sq, { argnums: [] as number[] })(x), ad.AutogradError, 'non-empty array');
    assertThrowsMsg(
      () => grad((x: T, _n: number) => x.sum(), { argnums: 1 })(x, 3),
      ad.AutogradError,
      'argument 1 holds no tensor',
      'a number (3)',
    );
    assertThrowsMsg(
      () => grad((a: T, b: T) => a.add(b).sum(), { argnums: [0, -2] })(x, x),
      ad.AutogradError,
      'names argument 0 twice',
    );
  });

  test('f returning a non-tensor, and hasAux without a pair', () => {
    assertThrowsMsg(
      () => grad((() => 3) as unknown as (x: T) => T)(x),
      ad.AutogradError,
      'grad: f must return a Tensor',
      'a number (3)',
    );
    assertThrowsMsg(
      () => grad(((x: T) => [x.sum(), 1]) as unknown as (x: T) => T)(x),
      ad.AutogradError,
      'an array of 2',
      'pass {hasAux: true}',
    );
    assertThrowsMsg(() => vjp((_x: T) => 'a', x), ad.AutogradError, 'vjp: f must return a Tensor or a pytree', '"a"');
    assertThrowsMsg(
      () => jvp((_x: T) => null, [x], [x]),
      ad.AutogradError,
      'jvp: f must return a Tensor or a pytree',
      'null',
    );
    assertThrowsMsg(() => jacobian(() => 1, x), ad.AutogradError, 'jacobian: f must return a Tensor');
    assertThrowsMsg(() => jacobian((x: T) => x.gt(0), x), ad.DTypeError, "jacobian: f's output out is a bool tensor");
    assertThrowsMsg(
      () => valueAndGrad(sq as unknown as (x: T) => [T, unknown], { hasAux: true })(x),
      ad.AutogradError,
      'valueAndGrad: with {hasAux: true} f must return a pair [value, aux]',
      'a Tensor of shape []',
    );
    assertThrowsMsg(
      () => grad(((x: T) => [x.sum()]) as unknown as (x: T) => [T, unknown], { hasAux: true })(x),
      ad.AutogradError,
      'pair [value, aux]',
      'an array of 1',
    );
    assertThrowsMsg(
      () => grad(3 as unknown as (x: T) => T),
      ad.ArgumentError,
      'grad: func must be a function',
      'got 3',
    );
    assertThrowsMsg(
      () => jacobian(sq, x, { mode: 'both' as 'rev' }),
      ad.ArgumentError,
      "mode must be one of 'rev', 'fwd'",
    );
    assertThrowsMsg(
      () => grad(sq, { has_aux: true } as never),
      ad.ArgumentError,
      "unknown option 'has_aux'; use hasAux",
    );
    assertThrowsMsg(
      () => (hessian as (...a: unknown[]) => unknown)(sq, x, x),
      ad.ArgumentError,
      'hessian: takes at most 2 positional',
    );
    // torch.func.grad(f, argnums): positionally too.
    assertClose(arr(grad((a: T, b: T) => a.mul(b).sum(), 1 as never)(x, x.mul(3)) as T), arr(x), 1e-15);
  });
});
