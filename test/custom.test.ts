/**
 * @file User-defined ops (ad.defineOp) and their checker (ad.checkOp): the three examples of docs/CUSTOM_OPS.md (a
 * hand-written swish, a straight-through estimator, a planted wrong VJP), broadcasting inputs summed back by the
 * engine, second derivatives and forward mode through a custom op, noGrad, checkOp's verdict and location for a
 * planted wrong VJP and a planted wrong JVP, and the errors for a bad spec, a rejecting shape rule and bad rules.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { assertClose, assertThrowsMsg } from './helpers.js';

const f64 = (values: ad.NestedArray, requiresGrad = false) => ad.tensor(values, { dtype: 'float64', requiresGrad });
const arr = (t: ad.Tensor | null | undefined) => Array.from(t!.dataSync() as ArrayLike<number>);
const randn = (shape: number[]) => ad.randn(shape, { dtype: 'float64' });

// ---- the docs' examples -----------------------------------------------------------------------------------------

/** x·σ(βx) with hand-written rules; β may be a tensor (learnable) or a number. */
const swish = ad.defineOp({
  name: 'swish',
  forward: (x, beta) => x.mul(x.mul(beta).sigmoid()),
  vjp: (g, { inputs: [x, beta], needs }) => {
    const s = x.mul(beta).sigmoid();
    const ds = s.mul(ad.sub(1, s));
    return [needs[0] ? g.mul(s.add(x.mul(beta).mul(ds))) : null, needs[1] ? g.mul(x.mul(x).mul(ds)) : null];
  },
  jvp: ([dx, dbeta], { inputs: [x, beta] }) => {
    const s = x.mul(beta).sigmoid();
    const ds = s.mul(ad.sub(1, s));
    let t: ad.Tensor | null = null;
    if (dx) t = dx.mul(s.add(x.mul(beta).mul(ds)));
    if (dbeta) {
      const tb = dbeta.mul(x.mul(x).mul(ds));
      t = t ? t.add(tb) : tb;
    }
    return t!;
  },
});
/** The same function composed from built-in ops, whose gradients come from their own rules. */
const swishRef = (x: ad.Tensor, beta: ad.Tensor | number) => x.mul(x.mul(beta).sigmoid());

/** Rounds (half away from zero) going forward; the gradient passes through unchanged coming back. */
const roundSte = ad.defineOp({
  name: 'roundSte',
  forward: (x) => x.sign().mul(x.abs().add(0.5).int().to(x.dtype)),
  vjp: (g) => [g],
  jvp: ([t]) => t!,
});

/** A planted bug: the VJP of x² forgets the factor 2; the JVP is right. */
const badSquare = ad.defineOp({
  name: 'badSquare',
  forward: (x) => x.mul(x),
  vjp: (g, { inputs: [x] }) => [g.mul(x)],
  jvp: ([t], { inputs: [x] }) => t!.mul(x).mul(2),
});

const failed = (r: ad.OpReport) => [...new Set(r.checks.filter((c) => !c.ok).map((c) => c.check))].sort();

describe('docs examples', () => {
  test('swish: values and gradients (x and a learnable β) match the composed function; gradFn SwishBackward', () => {
    const x = f64([-2, -0.5, 0.5, 2], true);
    const beta = f64(1.5, true);
    const y = swish(x, beta);
    assert.equal(y.gradFn!.name, 'SwishBackward');
    assert.match(y.toString(), /grad_fn=<SwishBackward>/);
    y.mul(f64([1, 2, 3, 4]))
      .sum()
      .backward();
    const x2 = f64([-2, -0.5, 0.5, 2], true);
    const beta2 = f64(1.5, true);
    const y2 = swishRef(x2, beta2);
    y2.mul(f64([1, 2, 3, 4]))
      .sum()
      .backward();
    assertClose(arr(y), arr(y2), 1e-15);
    assertClose(arr(x.grad), arr(x2.grad), 1e-14);
    assertClose(arr(beta.grad), arr(beta2.grad), 1e-14);
    assert.deepEqual(beta.grad!.shape, [], "β's output-shaped gradient is summed back to its 0-d shape");
    // β = 1 is SiLU.
    assertClose(arr(swish(x, 1)), arr(ad.F.silu(x)), 1e-15);
  });

  test('swish: checkOp passes every check, β given as a tensor or as a number', () => {
    ad.manualSeed(1);
    const r = ad.checkOp(swish, [
      [randn([3, 4]), f64(1.5)],
      [randn([5]), 0.7],
    ]);
    assert.ok(r.ok, ad.formatOpReport(r));
    assert.equal(r.op, 'swish');
    assert.equal(r.checks.length, 8);
    assert.ok(r.checks.every((c) => c.ok && !c.skipped));
    assert.match(r.verdict, /every rule agrees/);
    assert.deepEqual(
      r.checks.filter((c) => c.sample === 0).map((c) => c.check),
      ['vjp', 'vjp second order', 'jvp', 'adjoint identity'],
    );
  });

  test('straight-through estimator: rounds forward, passes the gradient through; checkOp says why it fails', () => {
    const w = f64([-1.4, -0.6, 0.2, 0.7, 1.5], true);
    const q = roundSte(w);
    assert.deepEqual(q.toArray(), [-1, -1, 0, 1, 2]);
    q.mul(f64([1, 2, 3, 4, 5]))
      .sum()
      .backward();
    assert.deepEqual(w.grad!.toArray(), [1, 2, 3, 4, 5]);
    ad.manualSeed(2);
    const r = ad.checkOp(roundSte, [[f64([-1.4, -0.6, 0.2, 0.7, 1.5])]]);
    // The forward is piecewise constant, so finite differences see 0 where both rules say 1 — by design. The rules
    // still agree with each other, and the VJP's own derivative is right.
    assert.equal(r.ok, false);
    assert.deepEqual(failed(r), ['jvp', 'vjp']);
    assert.match(r.verdict, /agree with each other/);
    assert.match(r.verdict, /straight-through estimator/);
    const vjp = r.checks.find((c) => c.check === 'vjp')!;
    assert.equal(vjp.got, 1);
    assert.equal(vjp.expected, 0);
  });

  test('a planted wrong VJP: checkOp says the VJP rule is wrong, and where', () => {
    ad.manualSeed(3);
    const x = randn([2, 3]);
    const r = ad.checkOp(badSquare, [[x], [randn([4])]]);
    assert.equal(r.ok, false);
    assert.match(r.verdict, /^the VJP rule is wrong/);
    assert.deepEqual(failed(r), ['adjoint identity', 'vjp']);
    const bad = r.checks.find((c) => c.check === 'vjp' && c.sample === 0)!;
    assert.equal(bad.input, 0);
    assert.equal(bad.output, bad.index, 'x² is elementwise: the worst entry is on the diagonal');
    const xi = arr(x)[bad.index!];
    assertClose([bad.expected!], [2 * xi], 1e-6, 1e-6, 'expected: finite differences of x²');
    assertClose([bad.got!], [xi], 1e-12, 1e-12, 'got: the rule');
    assert.match(bad.message, /input 0 at \[\d, \d\], output at \[\d, \d\]: the VJP gives/);
    assert.ok(r.checks.filter((c) => c.check === 'jvp').every((c) => c.ok));
    assertThrowsMsg(
      () => ad.assertOp(badSquare, [[x]]),
      ad.AdjointError,
      'checkOp(badSquare): FAILED',
      'the VJP rule is wrong',
      '✗ sample 0  vjp',
      'input 0 at',
    );
  });
});

// ---- checkOp's verdicts and locations -----------------------------------------------------------------------------

/** x·y + y, with the rules for y optionally wrong (the "+ 1" forgotten), to see checkOp point at input 1. */
function mulAdd(bug: 'none' | 'vjp' | 'jvp') {
  return ad.defineOp({
    name: 'mulAdd',
    forward: (x, y) => x.mul(y).add(y),
    vjp: (g, { inputs: [x, y] }) => [g.mul(y), bug === 'vjp' ? g.mul(x) : g.mul(x.add(1))],
    jvp: ([dx, dy], { inputs: [x, y] }) => {
      const ty = dy ? (bug === 'jvp' ? dy.mul(x) : dy.mul(x.add(1))) : null;
      const tx = dx ? dx.mul(y) : null;
      return tx && ty ? tx.add(ty) : (tx ?? ty)!;
    },
  });
}

describe('checkOp', () => {
  test('a correct two-input op passes', () => {
    ad.manualSeed(4);
    const r = ad.checkOp(mulAdd('none'), [[randn([2, 3]), randn([2, 3])]]);
    assert.ok(r.ok, ad.formatOpReport(r));
  });

  test('a wrong VJP for input 1: verdict, check, sample, input, element, expected vs got', () => {
    ad.manualSeed(5);
    const x = randn([3]);
    const y = randn([3]);
    const r = ad.checkOp(mulAdd('vjp'), [
      [randn([2]), randn([2])],
      [x, y],
    ]);
    assert.match(r.verdict, /^the VJP rule is wrong/);
    assert.deepEqual(failed(r), ['adjoint identity', 'vjp']);
    for (const s of [0, 1]) {
      const v = r.checks.find((c) => c.sample === s && c.check === 'vjp')!;
      assert.equal(v.ok, false);
      assert.equal(v.input, 1, 'input 0 is right; input 1 is wrong');
      const a = r.checks.find((c) => c.sample === s && c.check === 'adjoint identity')!;
      assert.equal(a.input, 1);
      assert.match(a.message, /not transposes/);
    }
    const v = r.checks.find((c) => c.sample === 1 && c.check === 'vjp')!;
    const xi = arr(x)[v.index!];
    assertClose([v.expected!, v.got!], [xi + 1, xi], 1e-6, 1e-6);
  });

  test('a wrong JVP for input 1: "the JVP rule is wrong", with its location', () => {
    ad.manualSeed(6);
    const x = randn([2, 2]);
    const r = ad.checkOp(mulAdd('jvp'), [[x, randn([2, 2])]]);
    assert.match(r.verdict, /^the JVP rule is wrong/);
    assert.deepEqual(failed(r), ['adjoint identity', 'jvp']);
    const j = r.checks.find((c) => c.check === 'jvp')!;
    assert.equal(j.input, 1);
    assert.equal(j.sample, 0);
    const xi = arr(x)[j.index!];
    assertClose([j.expected!, j.got!], [xi + 1, xi], 1e-6, 1e-6);
    assert.match(j.message, /the JVP gives ∂out\/∂in = /);
    assert.throws(() => ad.assertOp(mulAdd('jvp'), [[x, x]]), /the JVP rule is wrong/);
  });

  test('a VJP built from detached values: first order passes, second order fails', () => {
    const sq = ad.defineOp({
      name: 'sq',
      forward: (x) => x.mul(x),
      vjp: (g, { inputs: [x] }) => [g.mul(x.detach()).mul(2)],
      jvp: ([t], { inputs: [x] }) => t!.mul(x).mul(2),
    });
    ad.manualSeed(7);
    const r = ad.checkOp(sq, [[randn([3])]]);
    assert.deepEqual(failed(r), ['vjp second order']);
    assert.match(r.verdict, /own derivative is wrong/);
    assert.equal(r.checks.find((c) => c.check === 'vjp second order')!.input, 0);
    assert.ok(ad.checkOp(sq, [[randn([3])]], { secondOrder: false }).ok);
  });

  test('ops without a jvp (or vjp): the checks that need it are skipped, not failed', () => {
    const revOnly = ad.defineOp({
      name: 'revOnly',
      forward: (x) => x.exp(),
      vjp: (g, { inputs: [x] }) => [g.mul(x.exp())],
    });
    const r = ad.checkOp(revOnly, [[randn([3])]]);
    assert.ok(r.ok, ad.formatOpReport(r));
    assert.deepEqual(
      r.checks.filter((c) => c.skipped).map((c) => c.check),
      ['jvp', 'adjoint identity'],
    );
    assert.match(r.verdict, /skipped: jvp, adjoint identity/);
    const fwdOnly = ad.defineOp({ name: 'fwdOnly', forward: (x) => x.exp(), jvp: ([t], { output }) => t!.mul(output) });
    const r2 = ad.checkOp(fwdOnly, [[randn([3])]]);
    assert.ok(r2.ok);
    assert.deepEqual(
      r2.checks.filter((c) => !c.skipped).map((c) => c.check),
      ['jvp'],
    );
  });

  test('a rule that throws is reported as a failed check, with the error', () => {
    const broken = ad.defineOp({
      name: 'broken',
      forward: (x) => x.mul(2),
      vjp: (g) => [g.sum()],
      jvp: ([t]) => t!.mul(2),
    });
    const r = ad.checkOp(broken, [[randn([3])]]);
    const v = r.checks.find((c) => c.check === 'vjp')!;
    assert.equal(v.ok, false);
    assert.match(v.message, /threw ShapeError: broken: the vjp's gradient for input 0 has shape \[\]/);
  });

  test('plain functions of tensors work too; samples must be float64', () => {
    ad.manualSeed(8);
    assert.ok(ad.checkOp((x: ad.Tensor) => x.tanh().mul(x), [[randn([4])]]).ok);
    assertThrowsMsg(
      () => ad.checkOp(swish, [[ad.randn([3]), 1]]),
      ad.DTypeError,
      'checkOp(swish): sample 0, input 0 (shape [3]) is float32',
      'float64',
    );
    assertThrowsMsg(() => ad.checkOp(swish, []), ad.ValueError, 'non-empty array of samples');
  });
});

// ---- broadcasting, higher order, forward mode, grad modes --------------------------------------------------------

/** x·scale + shift, where scale and shift broadcast against x; the VJP is output-shaped and never sums. */
const scaleShift = ad.defineOp({
  name: 'scaleShift',
  forward: (x, scale, shift) => x.mul(scale).add(shift),
  vjp: (g, { inputs: [x, scale] }) => [g.mul(scale), g.mul(x), g],
  jvp: ([dx, ds, db], { inputs: [x, scale] }) => {
    const terms = [dx?.mul(scale), ds?.mul(x), db].filter((t): t is ad.Tensor => !!t);
    return terms.reduce((a, b) => a.add(b));
  },
  shape: (x, scale, shift) => {
    for (const s of [scale, shift])
      if (s.length > x.length || s.some((d, i) => d !== 1 && d !== x[x.length - s.length + i]))
        throw new Error(`scale and shift must broadcast to x's shape`);
    return x;
  },
});

describe('custom ops and every transform', () => {
  test('broadcasting inputs: output-shaped VJP results are summed back to each input shape by the engine', () => {
    ad.manualSeed(9);
    const x = randn([3, 4]).requiresGrad_(true);
    const s = randn([4]).requiresGrad_(true);
    const b = randn([3, 1]).requiresGrad_(true);
    const w = randn([3, 4]);
    scaleShift(x, s, b).mul(w).sum().backward();
    const [x2, s2, b2] = [x, s, b].map((t) => t.detach().requiresGrad_(true));
    x2.mul(s2).add(b2).mul(w).sum().backward();
    assert.deepEqual(s.grad!.shape, [4]);
    assert.deepEqual(b.grad!.shape, [3, 1]);
    assertClose(arr(x.grad), arr(x2.grad), 1e-14);
    assertClose(arr(s.grad), arr(s2.grad), 1e-14);
    assertClose(arr(b.grad), arr(b2.grad), 1e-14);
    const r = ad.checkOp(scaleShift, [
      [randn([3, 4]), randn([4]), randn([])],
      [randn([2, 3]), randn([2, 1]), randn([3])],
    ]);
    assert.ok(r.ok, ad.formatOpReport(r));
  });

  test('forward mode: tangents through a broadcast input are expanded to the output shape', () => {
    ad.manualSeed(10);
    const x = randn([2, 3]);
    const s = randn([3]);
    const t = ad.forwardAD(() => {
      const b = ad.makeDual(f64(0.5), f64(2));
      return ad.unpackDual(scaleShift(x, s, b)).tangent;
    });
    assert.deepEqual(t!.shape, [2, 3]);
    assert.deepEqual(t!.toArray(), [
      [2, 2, 2],
      [2, 2, 2],
    ]);
  });

  test('second derivatives through a custom op (createGraph) match the built-in SiLU', () => {
    const x = f64([-1.5, -0.2, 0.4, 2.5], true);
    const [g] = ad.autograd.grad([swish(x, 1).sum()], [x], { createGraph: true });
    const [h] = ad.autograd.grad([g!.sum()], [x]);
    const x2 = f64([-1.5, -0.2, 0.4, 2.5], true);
    const [g2] = ad.autograd.grad([ad.F.silu(x2).sum()], [x2], { createGraph: true });
    const [h2] = ad.autograd.grad([g2!.sum()], [x2]);
    assertClose(arr(g), arr(g2), 1e-14);
    assertClose(arr(h), arr(h2), 1e-13);
    // A third derivative, through the VJP of the VJP.
    const [g3] = ad.autograd.grad([swish(x, 1).sum()], [x], { createGraph: true });
    const [h3] = ad.autograd.grad([g3!.sum()], [x], { createGraph: true });
    const [k] = ad.autograd.grad([h3!.sum()], [x]);
    const [g4] = ad.autograd.grad([ad.F.silu(x2).sum()], [x2], { createGraph: true });
    const [h4] = ad.autograd.grad([g4!.sum()], [x2], { createGraph: true });
    const [k2] = ad.autograd.grad([h4!.sum()], [x2]);
    assertClose(arr(k), arr(k2), 1e-12);
  });

  test('forward mode (forwardAD/makeDual): JVP, forward-over-reverse HVP and forward-over-forward', () => {
    const xv = [-1.5, -0.2, 0.4, 2.5];
    const v = f64([1, -2, 0.5, 3]);
    const ops = [(t: ad.Tensor) => swish(t, 1), (t: ad.Tensor) => ad.F.silu(t)];
    const [jvp, jvpRef] = ops.map((f) => ad.forwardAD(() => ad.unpackDual(f(ad.makeDual(f64(xv), v))).tangent));
    assertClose(arr(jvp), arr(jvpRef), 1e-14);
    const [hvp, hvpRef] = ops.map((f) =>
      ad.forwardAD(() => {
        const x = ad.makeDual(f64(xv, true), v);
        const [g] = ad.autograd.grad([f(x).sum()], [x], { createGraph: true });
        return ad.unpackDual(g!).tangent;
      }),
    );
    assertClose(arr(hvp), arr(hvpRef), 1e-13);
    // d²/dε² f(x + ε·v) = v ⊙ f''(x) ⊙ v, from two nested levels of JVPs.
    const [fof, fofRef] = ops.map((f) =>
      ad.forwardAD(() => {
        const outer = ad.makeDual(f64(xv), v);
        const t = ad.forwardAD(() => ad.unpackDual(f(ad.makeDual(outer, v))).tangent!);
        // The inner tangent's own tangent at the outer level.
        return ad.unpackDual(t).tangent;
      }),
    );
    assertClose(arr(fof), arr(fofRef), 1e-13);
  });

  test('the function transforms (func.grad, jvp, jacobian both modes, hessian) match the built-in SiLU', () => {
    const x = f64([-1.5, -0.2, 0.4, 2.5]);
    const v = f64([1, -2, 0.5, 3]);
    const fs = [(t: ad.Tensor) => swish(t, 1), (t: ad.Tensor) => ad.F.silu(t)];
    const [a, b] = fs.map((f) => ({
      grad: ad.func.grad((t: ad.Tensor) => f(t).sum())(x) as ad.Tensor,
      jvp: ad.jvp(f, [x], [v])[1],
      jacFwd: ad.jacobian(f, x, { mode: 'fwd' }),
      jacRev: ad.jacobian(f, x, { mode: 'rev' }),
      hessian: ad.hessian((t: ad.Tensor) => f(t).sum(), x),
    }));
    for (const k of ['grad', 'jvp', 'jacFwd', 'jacRev', 'hessian'] as const) assertClose(arr(a[k]), arr(b[k]), 1e-13);
  });

  test('noGrad: nothing is recorded; the value is the same', () => {
    const x = f64([0.5, -1], true);
    const y = ad.noGrad(() => swish(x, 2));
    assert.equal(y.gradFn, null);
    assert.equal(y.requiresGrad, false);
    assertClose(arr(y), arr(swishRef(x, 2)), 1e-15);
  });

  test('numbers are lifted like built-in scalars: a float32 input stays float32', () => {
    const x = ad.tensor([0.5, -1]);
    const y = swish(x, 1.5);
    assert.equal(y.dtype, 'float32');
    assert.equal(swish(f64([1]), 2).dtype, 'float64');
  });

  test('saveOutput gives the VJP the output; reading what was not saved says how to save it', () => {
    const myExp = ad.defineOp({
      name: 'myExp',
      forward: (x) => x.exp(),
      vjp: (g, { output }) => [g.mul(output)],
      saveOutput: true,
      saveInputs: 'none',
    });
    const x = f64([0, 1], true);
    myExp(x).sum().backward();
    assertClose(arr(x.grad), [1, Math.E], 1e-15);
    const noOut = ad.defineOp({ name: 'noOut', forward: (x) => x.exp(), vjp: (g, { output }) => [g.mul(output)] });
    assertThrowsMsg(() => noOut(x).sum().backward(), ad.AutogradError, 'noOut', 'ctx.output', 'saveOutput: true');
    const firstOnly = ad.defineOp({
      name: 'firstOnly',
      forward: (x, y) => x.mul(y),
      vjp: (g, { inputs: [x, y] }) => [g.mul(y), g.mul(x)],
      saveInputs: [0],
    });
    assertThrowsMsg(
      () => firstOnly(x, x.detach()).sum().backward(),
      ad.AutogradError,
      'firstOnly: the vjp read input 1, which was not saved',
      'saveInputs',
    );
  });

  test('nondiffInputs: a mask input gets no gradient, and checkOp does not differentiate it', () => {
    const masked = ad.defineOp({
      name: 'masked',
      forward: (x, m) => x.mul(m),
      vjp: (g, { inputs: [, m], needs }) => {
        assert.deepEqual(needs, [true, false]);
        return [g.mul(m), null];
      },
      jvp: ([t, tm], { inputs: [, m] }) => {
        assert.equal(tm, null);
        return t!.mul(m);
      },
      nondiffInputs: [1],
    });
    const x = f64([1, 2, 3], true);
    const m = f64([1, 0, 1], true);
    masked(x, m).sum().backward();
    assert.deepEqual(x.grad!.toArray(), [1, 0, 1]);
    assert.equal(m.grad, null);
    const r = ad.checkOp(masked, [[randn([3]), f64([1, 0, 1])]]);
    assert.ok(r.ok, ad.formatOpReport(r));
  });

  test('a forward that returns its input gives a new tensor; in-place writes to saved inputs are caught', () => {
    const ident = ad.defineOp({ name: 'ident', forward: (x) => x, vjp: (g) => [g] });
    const x = f64([1, 2], true);
    const y = ident(x);
    assert.notEqual(y._storage, x._storage);
    const a = f64([0.5, 0.5], true);
    const w = a.mul(1);
    const o = swish(w, 1);
    w.add_(1);
    assertThrowsMsg(() => o.sum().backward(), ad.AutogradError, 'swish', 'SwishBackward', 'modified by an in-place op');
  });

  test('missing rules: forward mode without a jvp and backward without a vjp fail naming the op', () => {
    const revOnly = ad.defineOp({ name: 'revOnly', forward: (x) => x.mul(2), vjp: (g) => [g.mul(2)] });
    const fwdOnly = ad.defineOp({ name: 'fwdOnly', forward: (x) => x.mul(2), jvp: ([t]) => t!.mul(2) });
    const x = f64([1, 2], true);
    assertThrowsMsg(
      () => ad.forwardAD(() => revOnly(ad.makeDual(x, f64([1, 1])))),
      ad.AutogradError,
      'revOnly: forward mode',
      'without a jvp rule',
    );
    assertThrowsMsg(() => fwdOnly(x).sum().backward(), ad.AutogradError, 'fwdOnly: backward', 'without a vjp rule');
    // Each still works in its own mode.
    revOnly(x).sum().backward();
    assert.deepEqual(x.grad!.toArray(), [2, 2]);
    const t = ad.forwardAD(() => ad.unpackDual(fwdOnly(ad.makeDual(x.detach(), f64([1, 3])))).tangent);
    assert.deepEqual(t!.toArray(), [2, 6]);
  });
});

// ---- errors -------------------------------------------------------------------------------------------------------

describe('errors', () => {
  const fwd = (x: ad.Tensor) => x;
  const vjp = (g: ad.Tensor) => [g];

  test('the spec is checked at definition', () => {
    const bad = (spec: unknown, ...frags: string[]) =>
      assertThrowsMsg(() => ad.defineOp(spec as ad.CustomOpSpec), ad.ValueError, ...frags);
    bad(null, 'defineOp: spec must be a spec object {name, forward, vjp');
    bad({ forward: fwd, vjp }, 'defineOp: name must be', 'SwishBackward', 'got undefined');
    bad({ name: '', forward: fwd, vjp }, 'name must be a non-empty string');
    bad({ name: 'my op', forward: fwd, vjp }, 'letters, digits and _', 'got "my op"');
    bad({ name: 'f', vjp }, 'defineOp(f): forward must be a function', 'got undefined');
    bad({ name: 'f', forward: fwd, vjp: 3 }, 'defineOp(f): vjp must be a function, got number');
    bad({ name: 'f', forward: fwd, vjp, shape: [2] }, 'shape must be a function');
    bad({ name: 'f', forward: fwd }, 'defineOp(f): give at least one derivative rule', 'vjp', 'jvp');
    bad({ name: 'f', forward: fwd, backward: vjp }, "defineOp(f): unknown field 'backward'", 'the fields are name');
    bad({ name: 'f', forward: fwd, vjp, saveInputs: 'some' }, "saveInputs must be 'all', 'none' or an array");
    bad({ name: 'f', forward: fwd, vjp, nondiffInputs: [-1] }, 'nondiffInputs must be an array of input numbers');
    bad({ name: 'f', forward: fwd, vjp, saveOutput: 'yes' }, 'saveOutput must be true or false');
  });

  test('the shape rule runs before the forward; its errors name the op and every input shape', () => {
    let runs = 0;
    const counted = ad.defineOp({
      name: 'counted',
      forward: (x, s, b) => {
        runs++;
        return scaleShift(x, s, b);
      },
      vjp: (g) => [g, null, null],
      shape: scaleShift.spec.shape,
    });
    assertThrowsMsg(
      () => counted(randn([3, 4]), randn([3]), randn([1])),
      ad.ShapeError,
      'counted: input shapes [3, 4], [3], [1] rejected by the shape rule',
      "scale and shift must broadcast to x's shape",
    );
    assertThrowsMsg(
      () => scaleShift(randn([2]), randn([2, 2]), 0),
      ad.ShapeError,
      'scaleShift: input shapes [2], [2, 2], []',
    );
    assert.equal(runs, 0, 'the forward never ran');
    counted(randn([3, 4]), randn([4]), 1);
    assert.equal(runs, 1);
    const liar = ad.defineOp({ name: 'liar', forward: (x) => x.sum(), vjp, shape: (x) => x });
    assertThrowsMsg(() => liar(randn([2, 3])), ad.ShapeError, 'liar: forward returned shape []', 'says [2, 3]');
    const junk = ad.defineOp({ name: 'junk', forward: fwd, vjp, shape: () => [2, -1] });
    assertThrowsMsg(() => junk(randn([2])), ad.ShapeError, 'junk: the shape rule must return', 'returned [2,-1]');
  });

  test('calls and rules are checked: missing inputs, non-tensor arguments, bad VJP and JVP results', () => {
    assertThrowsMsg(() => swish(randn([2])), ad.ValueError, 'swish: expects 2 inputs', 'got 1');
    assertThrowsMsg(() => swish(randn([2]), 'a' as unknown as number), ad.ValueError, 'swish: argument 1');
    const x = randn([2, 3]).requiresGrad_(true);
    const wrongShape = ad.defineOp({ name: 'wrongShape', forward: fwd, vjp: (g) => [g.sum(0)] });
    assertThrowsMsg(
      () => wrongShape(x).sum().backward(),
      ad.ShapeError,
      "wrongShape: the vjp's gradient for input 0 has shape [3], but the input has shape [2, 3]",
    );
    const tooFew = ad.defineOp({ name: 'tooFew', forward: (a, b) => a.add(b), vjp: (g) => [g] });
    assertThrowsMsg(
      () => tooFew(x, x).sum().backward(),
      ad.AdjointError,
      'tooFew: the vjp returned 1 gradient, but input 1 (shape [2, 3]) needs one',
    );
    const notArray = ad.defineOp({ name: 'notArray', forward: fwd, vjp: (g) => g as unknown as ad.Tensor[] });
    assertThrowsMsg(() => notArray(x).sum().backward(), ad.AdjointError, 'notArray: the vjp must return an array');
    const badJvp = ad.defineOp({ name: 'badJvp', forward: fwd, jvp: ([t]) => t!.sum(1) });
    assertThrowsMsg(
      () => ad.forwardAD(() => badJvp(ad.makeDual(x.detach(), randn([2, 3])))),
      ad.ShapeError,
      'badJvp: the jvp returned a tangent of shape [2], but the output has shape [2, 3]',
    );
  });
});
