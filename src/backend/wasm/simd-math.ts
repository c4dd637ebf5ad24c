/**
 * @file Vectorised float32 exp, sigmoid and tanh for the generated wasm kernels (code generators over asm.ts's Code,
 * four lanes at a time), with their accuracy against the correctly rounded values the js reference stores: exp and
 * tanh within 1 ulp, sigmoid within 2 (test/simd-activations.test.ts measures them). V8's scalar Math.exp and
 * Math.tanh cost 15–25 ns each on this machine kind; these cost a few instructions per lane. Also the loop over a
 * kernel's contiguous lines and the float64 widening and sums its line reductions share.
 */
import type { Code, Local } from './asm.js';

const EXP_P = [1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];
const TANH_P = [-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1];
/** 1.5·2²³: adding it rounds a float32 below 2²² in magnitude to an integer, which its float's low bits then hold. */
const ROUNDER = 12582912;
const ROUNDER_BITS = 0x4b400000;
/** Every constant the math uses, which `hoist` keeps in locals. */
const CONSTANTS = [-104, 88, Math.LOG2E, ROUNDER, 0.693359375, -2.1219444e-4, ...EXP_P, ...TANH_P, 0, 1, 2, 0.625, 44];

/** Constants hoisted into locals at a kernel's entry, so the loop reads registers rather than rebuilding v128.consts. */
const consts = new WeakMap<Code, Map<number, Local>>();

/** Pushes four float32 lanes equal to v (rounded to float32): the hoisted local where `hoist` made one. */
export function splat(c: Code, v: number): Code {
  const l = consts.get(c)?.get(Math.fround(v));
  if (l !== undefined) return c.get(l);
  const bits = new Int32Array(new Float32Array([v]).buffer)[0];
  return c.i32x4([bits, bits, bits, bits]);
}

/** Hoists every constant the kernels use into a local of c (call first in a kernel's body). */
export function hoist(c: Code): void {
  const map = new Map<number, Local>();
  for (const v of CONSTANTS) {
    const l = c.local('v128');
    splat(c, v).set(l);
    map.set(Math.fround(v), l);
  }
  consts.set(c, map);
}

/** A fresh v128 local. */
export const vec = (c: Code): Local => c.local('v128');

/**
 * exp(x) per lane (Cephes' expf scheme): x clamped to [−104, 88], k = nearest(x·log₂e) (by adding and subtracting
 * 1.5·2²³, whose float's low bits then hold k), r = x − k·ln 2 in two parts, e^r by its degree-7 polynomial, times
 * 2^k as two normal powers of two 2^⌊k/2⌋·2^(k−⌊k/2⌋) built in the exponent bits, so results in the subnormal range
 * round once, as the reference's do, and exp(−∞) = 0. Above 88 it gives e^88 (its callers never pass more); NaN
 * stays NaN (the clamps are pmin/pmax, which keep a NaN first operand and cost one instruction each).
 */
export function exp(c: Code, x: Local, out: Local): void {
  const [xx, k, r, p, ki, half] = [vec(c), vec(c), vec(c), vec(c), vec(c), vec(c)];
  c.get(x);
  splat(c, -104).simd('f32x4.pmax');
  splat(c, 88).simd('f32x4.pmin').set(xx);
  c.get(xx);
  splat(c, Math.LOG2E).simd('f32x4.mul');
  splat(c, ROUNDER).simd('f32x4.add').tee(k);
  c.i32x4([ROUNDER_BITS, ROUNDER_BITS, ROUNDER_BITS, ROUNDER_BITS]).simd('i32x4.sub').set(ki);
  c.get(k);
  splat(c, ROUNDER).simd('f32x4.sub').set(k);
  c.get(xx).get(k);
  splat(c, 0.693359375).simd('f32x4.mul').simd('f32x4.sub').get(k);
  splat(c, -2.1219444e-4).simd('f32x4.mul').simd('f32x4.sub').set(r);
  splat(c, EXP_P[0]).set(p);
  for (const q of EXP_P.slice(1)) {
    c.get(p).get(r).simd('f32x4.mul');
    splat(c, q).simd('f32x4.add').set(p);
  }
  // p·r² + r + 1, then · 2^⌊k/2⌋ · 2^(k−⌊k/2⌋), each ((e + 127) << 23) read as a float.
  c.get(ki).i32(1).simd('i32x4.shr_s').set(half);
  c.get(p).get(r).simd('f32x4.mul').get(r).simd('f32x4.mul').get(r).simd('f32x4.add');
  splat(c, 1).simd('f32x4.add');
  c.get(half).i32(127).simd('i32x4.splat').simd('i32x4.add').i32(23).simd('i32x4.shl').simd('f32x4.mul');
  c.get(ki).get(half).simd('i32x4.sub').i32(127).simd('i32x4.splat').simd('i32x4.add');
  c.i32(23).simd('i32x4.shl').simd('f32x4.mul').set(out);
}

/** σ(x) = 1 / (1 + e^−x) for x ≥ 0, e^x / (1 + e^x) below: one exp of −|x|, as the reference's two branches. */
export function sigmoid(c: Code, x: Local, out: Local): void {
  const [m, e] = [vec(c), vec(c)];
  c.get(x).simd('f32x4.abs').simd('f32x4.neg').set(m);
  exp(c, m, e);
  splat(c, 1).get(e).get(x);
  splat(c, 0).simd('f32x4.ge').simd('v128.bitselect');
  splat(c, 1).get(e).simd('f32x4.add').simd('f32x4.div').set(out);
}

/**
 * tanh(x): for |x| < 0.625 the odd polynomial |x| + |x|³·P(x²) (Cephes' tanhf coefficients), else 1 − 2/(e^2|x| + 1)
 * with |x| capped at 44 (where it is 1 in float32), then x's sign (so −0 stays −0). NaN stays NaN.
 */
export function tanh(c: Code, x: Local, out: Local): void {
  const [a, z, p, e, big] = [vec(c), vec(c), vec(c), vec(c), vec(c)];
  c.get(x).simd('f32x4.abs').set(a);
  c.get(a).get(a).simd('f32x4.mul').set(z);
  splat(c, TANH_P[0]).set(p);
  for (const q of TANH_P.slice(1)) {
    c.get(p).get(z).simd('f32x4.mul');
    splat(c, q).simd('f32x4.add').set(p);
  }
  c.get(p).get(z).simd('f32x4.mul').get(a).simd('f32x4.mul').get(a).simd('f32x4.add').set(p);
  c.get(a);
  splat(c, 44).simd('f32x4.pmin');
  splat(c, 2).simd('f32x4.mul').set(big);
  exp(c, big, e);
  splat(c, 1);
  splat(c, 2).get(e);
  splat(c, 1).simd('f32x4.add').simd('f32x4.div').simd('f32x4.sub').set(big);
  c.get(p).get(big).get(a);
  splat(c, 0.625).simd('f32x4.lt').simd('v128.bitselect').set(big);
  // The sign bit from x, the rest from the non-negative result.
  c.get(x).get(big).i32x4([-0x80000000, -0x80000000, -0x80000000, -0x80000000]).simd('v128.bitselect').set(out);
}

/**
 * For each of `lines` contiguous lines of `len4` bytes starting at byte address `base`: `body` with the line's first
 * address `p` and its end `end` (locals it may read, not write).
 */
export function forLines(c: Code, base: Local, lines: Local, len4: Local, body: (p: Local, end: Local) => void): void {
  const [l, p, end] = [c.local('i32'), c.local('i32'), c.local('i32')];
  c.for(
    l,
    (c) => c.i32(0),
    lines,
    1,
    (c) => {
      c.get(base).get(l).get(len4).op('i32.mul').op('i32.add').set(p);
      c.get(p).get(len4).op('i32.add').set(end);
      body(p, end);
    },
  );
}

/** `body(q)` for each vector address q of the line [p, end). */
export function forVectors(c: Code, p: Local, end: Local, body: (q: Local) => void): void {
  const q = c.local('i32');
  c.for(
    q,
    (c) => c.get(p),
    end,
    16,
    () => body(q),
  );
}

/**
 * Pushes the float64 pair widened from lanes 0–1 (hi = false) or 2–3 (hi = true) of the float32 vector that `push`
 * pushes (it is called twice for the upper pair: i8x16.shuffle takes two vectors and here picks from the first).
 */
export function widen(c: Code, push: () => void, hi: boolean): Code {
  push();
  if (hi) {
    push();
    c.shuffle([8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]);
  }
  return c.simd('f64x2.promote_low_f32x4');
}

/** acc += the four float32 lanes of `v`, widened to float64 (lanes 0 and 2 into acc's lane 0, 1 and 3 into its 1). */
export function addWidened(c: Code, acc: Local, v: Local): void {
  c.get(acc);
  widen(c, () => c.get(v), false).simd('f64x2.add');
  widen(c, () => c.get(v), true)
    .simd('f64x2.add')
    .set(acc);
}

/** Pushes the sum of acc's two float64 lanes. */
export function sumPair(c: Code, acc: Local): Code {
  return c.get(acc).extract('f64x2.extract_lane', 0).get(acc).extract('f64x2.extract_lane', 1).op('f64.add');
}
