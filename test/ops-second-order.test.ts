/**
 * @file checkGrads (JAX's check_grads) on planted wrong rules, then on the whole op table: every op, sample and
 * variant to second order in both modes — the JVP of the JVP, the VJP of the JVP, the JVP of the VJP
 * (forward-over-reverse) and the VJP of the VJP — each against finite differences of the first derivative.
 * test/ops.test.ts runs the first-order checks (gradcheck, gradgradcheck, JVP vs finite differences, adjoint identity).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { apply, defineOp, type OpDef } from '../src/ops/define.js';
import { type Arg, OP_TESTS } from '../src/ops/registry.js';
import { assertThrowsMsg, spec } from './helpers.js';
import { build, call, VARIANTS } from './op-variants.js';

const ALL = ['JVP', 'JVP of JVP', 'VJP of JVP', 'VJP', 'JVP of VJP', 'VJP of VJP'];

/** sin as a user-level op with the given rules (forward computed with ordinary ops), so a test can plant a bad one. */
function sinWith(name: string, rules: Pick<OpDef, 'vjp' | 'jvp'>): (x: ad.Tensor) => ad.Tensor {
  const op = defineOp({ name, infer: () => null, compute: ([x]) => x.sin(), ...rules });
  return (x) => apply(op, [x], undefined);
}

const goodVjp: OpDef['vjp'] = (g, c) => [g.mul(c.inputs[0]!.cos())];
const goodJvp: OpDef['jvp'] = ([t], c) => t!.mul(c.inputs[0]!.cos());

function leaf(shape: number[]): ad.Tensor {
  return ad.randn(shape, { dtype: 'float64' }).requiresGrad_(true);
}

function failed(r: ad.CheckGradsReport): string[] {
  return r.failures.map((f) => f.check);
}

describe('checkGrads', () => {
  test('passes correct rules, runs the six checks of order 2 in JAX order, and skips inputs without grad', () => {
    ad.manualSeed(1);
    const idx = ad.tensor([2, 0, 1], { dtype: 'int32' });
    const f = (x: ad.Tensor, y: ad.Tensor, i: ad.Tensor) => [x.mul(y).sin().indexSelect(-1, i), x.exp().sum(-1)];
    const r = ad.checkGrads(f, [leaf([2, 3]), leaf([3]), idx]);
    assert.deepEqual(r.failures, []);
    assert.ok(r.ok);
    assert.deepEqual(r.checks, ALL);
    const planted = sinWith('plantedSin', { vjp: goodVjp, jvp: goodJvp });
    assert.ok(ad.checkGrads(planted, [leaf([2, 3])]).ok, 'the correct user-level sin passes');
    assert.deepEqual(ad.checkGrads(planted, [leaf([4])], { modes: ['fwd'] }).checks, ['JVP', 'JVP of JVP']);
    assert.deepEqual(ad.checkGrads(planted, [leaf([4])], { order: 1 }).checks, ['JVP', 'VJP']);
    assert.deepEqual(ad.checkGrads(planted, [leaf([4])], { order: 3, modes: ['rev'] }).checks, [
      'VJP',
      'VJP of VJP',
      'VJP of VJP of VJP',
    ]);
  });

  test('catches a wrong JVP, names the input and the output element, and leaves the VJP checks passing', () => {
    ad.manualSeed(2);
    // The JVP is off by 1% everywhere; the VJP is right.
    const bad = sinWith('badJvpSin', { vjp: goodVjp, jvp: ([t], c) => t!.mul(c.inputs[0]!.cos()).mul(1.01) });
    const x = leaf([2, 3]);
    const w = leaf([3]);
    const r = ad.checkGrads((a, b) => a.add(bad(b)), [x, w], { order: 1 });
    assert.ok(!r.ok);
    assert.deepEqual(failed(r), ['JVP']);
    const f = r.failures[0];
    assert.equal(f.mode, 'fwd');
    assert.equal(f.order, 1);
    assert.equal(f.input, 1, 'input 0 goes through add only, so input 1 is the wrong one');
    assert.equal(f.inputName, 'input 1');
    assert.equal(f.output, 0);
    assert.ok(f.index >= 0 && f.index < 6);
    assert.ok(Math.abs(f.analytic - 1.01 * f.numeric) < 1e-6 * (1 + Math.abs(f.numeric)), f.message);
    assert.match(
      f.message,
      /^JVP \(order 1, fwd\) along input 1: output 0 at \[\d, \d\] \(element \d\): forward mode gives /,
    );
    assertThrowsMsg(
      () => ad.assertCheckGrads((a, b) => a.add(bad(b)), [x, w], { order: 1 }),
      ad.AdjointError,
      'checkGrads failed 1 of 2 checks',
      'JVP (order 1, fwd) along input 1: output 0 at',
    );
  });

  test('catches a wrong VJP at one element and names that element', () => {
    ad.manualSeed(3);
    // Right everywhere except element [0, 3] of the input, where it is 1.5 times too large.
    const mask = ad.tensor(
      [
        [1, 1, 1, 1.5],
        [1, 1, 1, 1],
      ],
      { dtype: 'float64' },
    );
    const bad = sinWith('badVjpSin', { vjp: (g, c) => [g.mul(c.inputs[0]!.cos()).mul(mask)], jvp: goodJvp });
    const r = ad.checkGrads((a) => bad(a).mul(2), [leaf([2, 4])], { order: 1 });
    assert.deepEqual(failed(r), ['VJP']);
    const f = r.failures[0];
    assert.equal(f.mode, 'rev');
    assert.equal(f.input, 0);
    assert.equal(f.index, 3);
    assert.equal(f.output, -1);
    assert.ok(Math.abs(f.analytic - 1.5 * f.numeric) < 1e-6 * (1 + Math.abs(f.numeric)), f.message);
    assert.match(f.message, /^VJP \(order 1, rev\) for input 0 at \[0, 3\] \(element 3\): reverse mode gives /);
  });

  test('names the output whose rule is wrong when fn returns several', () => {
    ad.manualSeed(4);
    const bad = sinWith('badJvpSin2', { vjp: goodVjp, jvp: ([t], c) => t!.mul(c.inputs[0]!.cos()).neg() });
    const r = ad.checkGrads((a) => [a.exp(), bad(a)], [leaf([3])], { order: 1, modes: ['fwd'] });
    assert.equal(r.failures.length, 1);
    assert.equal(r.failures[0].output, 1);
    assert.match(r.failures[0].message, /output 1 at \[\d\]/);
  });

  test('catches a VJP rule that is right at first order but not differentiable (a detached input)', () => {
    ad.manualSeed(5);
    // cos(x) computed from a detached x: the gradient is right, its own derivative is lost.
    const bad = sinWith('detachedVjpSin', { vjp: (g, c) => [g.mul(c.inputs[0]!.detach().cos())], jvp: goodJvp });
    const x = leaf([3, 2]);
    assert.ok(ad.gradcheck(bad, [x]).ok, 'first order cannot see it');
    assert.ok(ad.checkGrads(bad, [x], { order: 1 }).ok);
    assert.ok(ad.checkGrads(bad, [x], { modes: ['fwd'] }).ok, 'the forward-mode rules are fine');
    const r = ad.checkGrads(bad, [x]);
    assert.deepEqual(failed(r), ['JVP of VJP', 'VJP of VJP']);
    for (const f of r.failures) {
      assert.equal(f.order, 2);
      assert.equal(f.input, 0, 'the derivative with respect to x (input 0) is lost, not the one in the cotangent');
      assert.equal(f.inputName, 'input 0');
      assert.equal(f.analytic, 0);
    }
    assert.equal(r.failures[0].mode, 'fwd');
    assert.equal(r.failures[1].mode, 'rev');
    assert.match(r.failures[0].message, /^JVP of VJP \(order 2, fwd\) along input 0: the gradient for input 0 at \[/);
    assert.match(r.failures[1].message, /^VJP of VJP \(order 2, rev\) for input 0 at \[\d, \d\] \(element \d\)/);
  });

  test('catches a JVP rule that is right at first order but not differentiable', () => {
    ad.manualSeed(6);
    const bad = sinWith('detachedJvpSin', { vjp: goodVjp, jvp: ([t], c) => t!.mul(c.inputs[0]!.detach().cos()) });
    const r = ad.checkGrads(bad, [leaf([4])]);
    assert.deepEqual(failed(r), ['JVP of JVP', 'VJP of JVP']);
    assert.ok(r.failures.every((f) => f.input === 0 && f.order === 2));
  });

  test('catches a rule whose own derivative op has a wrong rule (second order only)', () => {
    ad.manualSeed(7);
    // A cos op whose derivative has the wrong sign (+sin), used by an otherwise right sin.
    const badCos = defineOp({
      name: 'badCos',
      infer: () => null,
      compute: ([x]) => x.cos(),
      vjp: (g, c) => [g.mul(c.inputs[0]!.sin())],
      jvp: ([t], c) => t!.mul(c.inputs[0]!.sin()),
    });
    const cos = (x: ad.Tensor) => apply(badCos, [x], undefined);
    const sin = sinWith('sinOverBadCos', {
      vjp: (g, c) => [g.mul(cos(c.inputs[0]!))],
      jvp: ([t], c) => t!.mul(cos(c.inputs[0]!)),
    });
    const r = ad.checkGrads(sin, [leaf([2, 2])]);
    assert.deepEqual(failed(r), ['JVP of JVP', 'VJP of JVP', 'JVP of VJP', 'VJP of VJP']);
    for (const f of r.failures) assert.ok(Math.abs(f.analytic + f.numeric) < 1e-4, `sign flipped: ${f.message}`);
  });

  test('reports a rule that throws as a failure of that check', () => {
    ad.manualSeed(8);
    const noJvp = sinWith('sinWithoutJvp', { vjp: goodVjp });
    const r = ad.checkGrads(noJvp, [leaf([3])], { order: 1 });
    assert.deepEqual(failed(r), ['JVP']);
    assert.match(r.failures[0].message, /^JVP \(order 1, fwd\) threw AutogradError: sinWithoutJvp: no JVP rule/);
  });

  test('misuse: order, modes and non-float64 inputs', () => {
    const x = leaf([2]);
    assertThrowsMsg(
      () => ad.checkGrads((a) => a, [x], { order: 0 }),
      ad.ArgumentError,
      'checkGrads: order must be a whole number ≥ 1',
      'got 0',
    );
    assertThrowsMsg(
      () => ad.checkGrads((a) => a, [x], { modes: ['both' as ad.GradMode] }),
      ad.ArgumentError,
      "checkGrads: modes must be an array of 'fwd' and 'rev'",
      '["both"]',
    );
    assertThrowsMsg(
      () => ad.checkGrads((a) => a, [ad.ones([2]).requiresGrad_(true)]),
      ad.DTypeError,
      'checkGrads: input 0',
      'float32',
      'float64',
    );
  });
});

let seed = 1;
for (const backend of ad.backendNames()) {
  describe(`ops to second order on the ${backend} backend`, () => {
    for (const op of OP_TESTS) {
      if (op.differentiable === false) continue;
      describe(op.name, () => {
        op.samples.forEach((s, si) => {
          const variants = s.noVariants ? VARIANTS.slice(0, 1) : VARIANTS;
          for (const v of variants) {
            const mySeed = seed++;
            ad.manualSeed(mySeed);
            const built = build(s, v);
            if (!built) continue;
            const shapes = s.args.map((a: Arg) => JSON.stringify(spec(a).shape)).join(' ');
            const name = `sample ${si} ${shapes} ${v}${s.note ? ` (${s.note})` : ''}`;
            // What an op does not support is declared on its OpTest (gradgrad: false), not here.
            const skip = op.gradgrad === false ? `${op.name} declares gradgrad: false` : false;
            test(name, { skip }, () => {
              ad.setBackend(backend);
              ad.manualSeed(mySeed);
              const { leaves, toInputs } = built;
              const f = (...ls: ad.Tensor[]) => call(op, s, toInputs(ls));
              const r = ad.checkGrads(f, leaves, { order: 2, modes: ['fwd', 'rev'], atol: op.atol, rtol: op.rtol });
              assert.ok(r.ok, `${op.name}, second order:\n${r.failures.map((e) => `  ${e.message}`).join('\n')}`);
            });
          }
        });
      });
    }
  });
}
