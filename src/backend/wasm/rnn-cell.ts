/**
 * @file WebAssembly SIMD for the fused LSTM cell's two kernels (lstmCell, lstmCellBackward) in float32: four lanes
 * at a time, with vectorised exp, sigmoid and tanh in place of V8's scalar Math.exp / Math.tanh (15–25 ns each here,
 * five per element, twice per step: what kept nn.LSTM's step 4.7× PyTorch's). Each transcendental is within 2 ulp
 * of the reference's correctly rounded float32 value (1 ulp for exp and tanh, 2 for sigmoid; measured on 2·10⁶
 * samples over ±85 and checked by test/simd-rnn-cell.test.ts), and the products and sums around them round as the
 * reference kernels round them, so a fast backend's cell is within a few float32 ulp of the js reference's — not
 * bit-identical, as PyTorch's vectorised cell is not to its scalar one. Only float32 with H a multiple of 4 and
 * every operand contiguous takes this path (rows then fill whole vectors); the rest runs the reference kernels.
 */
import { isContiguous } from '../../core/shape.js';
import type { View } from '../backend.js';
import { type Code, type Local, type ModuleBuilder, privateModule } from './asm.js';

/** Constants hoisted into locals at a kernel's entry, so the loop reads registers rather than rebuilding v128.consts. */
const consts = new WeakMap<Code, Map<number, Local>>();

/** Pushes four float32 lanes equal to v (rounded to float32): the hoisted local where `hoist` made one. */
function splat(c: Code, v: number): Code {
  const l = consts.get(c)?.get(Math.fround(v));
  if (l !== undefined) return c.get(l);
  const bits = new Int32Array(new Float32Array([v]).buffer)[0];
  return c.i32x4([bits, bits, bits, bits]);
}

/** Hoists every constant the kernels use into a local of c (call first in a kernel's body). */
function hoist(c: Code): void {
  const map = new Map<number, Local>();
  for (const v of CONSTANTS) {
    const l = c.local('v128');
    splat(c, v).set(l);
    map.set(Math.fround(v), l);
  }
  consts.set(c, map);
}

/** A fresh v128 local. */
const vec = (c: Code): Local => c.local('v128');

/**
 * exp(x) per lane (Cephes' expf scheme): x clamped to [−104, 88], k = nearest(x·log₂e) (by adding and subtracting
 * 1.5·2²³, whose float's low bits then hold k), r = x − k·ln 2 in two parts, e^r by its degree-7 polynomial, times
 * 2^k as two normal powers of two 2^⌊k/2⌋·2^(k−⌊k/2⌋) built in the exponent bits, so results in the subnormal range
 * round once, as the reference's do, and exp(−∞) = 0. Above 88 it gives e^88 (its callers never pass more); NaN
 * stays NaN (the clamps are pmin/pmax, which keep a NaN first operand and cost one instruction each).
 */
function exp(c: Code, x: Local, out: Local): void {
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
function sigmoid(c: Code, x: Local, out: Local): void {
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
function tanh(c: Code, x: Local, out: Local): void {
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

/** v = a·b + c·d, each product rounded, then the sum (as the reference rounds sf·c + si·tg). */
function mulAdd2(c: Code, a: Local, b: Local, x: Local, y: Local): Code {
  return c.get(a).get(b).simd('f32x4.mul').get(x).get(y).simd('f32x4.mul').simd('f32x4.add');
}

/** 1 − v·v (tanh' from tanh's value) on the stack. */
function oneMinusSq(c: Code, v: Local): Code {
  splat(c, 1);
  return c.get(v).get(v).simd('f32x4.mul').simd('f32x4.sub');
}

/** v·(1 − v) (σ' from σ's value) on the stack. */
function sigmoidSlope(c: Code, v: Local): Code {
  c.get(v);
  splat(c, 1);
  return c.get(v).simd('f32x4.sub').simd('f32x4.mul');
}

/**
 * The row loops both kernels share: for each of B rows and each 4-lane column block of H, `body` gets the byte
 * address of the block's i-gate lanes (the f, g, o gates follow at +H4, +2·H4, +3·H4) and the block's offset in a
 * [B, H] plane; after each row the gate pointer moves 4·H4 and the plane offset H4.
 */
function rows(c: Code, gates: Local, B: Local, H: Local, body: (gp: Local, ep: Local, H4: Local) => void): void {
  const [H4, b, j, gRow, eRow, gp, ep, jend] = [0, 1, 2, 3, 4, 5, 6, 7].map(() => c.local('i32'));
  c.get(H).i32(4).op('i32.mul').set(H4);
  c.get(gates).set(gRow);
  c.i32(0).set(eRow);
  c.for(
    b,
    (c) => c.i32(0),
    B,
    1,
    (c) => {
      c.get(eRow).get(H4).op('i32.add').set(jend);
      c.for(
        j,
        (c) => c.get(eRow),
        jend,
        16,
        (c) => {
          c.get(gRow).get(j).op('i32.add').get(eRow).op('i32.sub').set(gp);
          c.get(j).set(ep);
          body(gp, ep, H4);
        },
      );
      c.get(gRow).get(H4).i32(4).op('i32.mul').op('i32.add').set(gRow);
      c.get(eRow).get(H4).op('i32.add').set(eRow);
    },
  );
}

/** The four gate activations σ(i), σ(f), tanh(g), σ(o) of the block at gp. */
function activations(c: Code, gp: Local, H4: Local): [Local, Local, Local, Local] {
  const acts: Local[] = [];
  for (let k = 0; k < 4; k++) {
    const z = vec(c);
    const y = vec(c);
    c.get(gp);
    if (k > 0) c.get(H4).i32(k).op('i32.mul').op('i32.add');
    c.vmem('load').set(z);
    (k === 2 ? tanh : sigmoid)(c, z, y);
    acts.push(y);
  }
  return acts as [Local, Local, Local, Local];
}

const EXP_P = [1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];
const TANH_P = [-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1];
/** 1.5·2²³: adding it rounds a float32 below 2²² in magnitude to an integer, which its float's low bits then hold. */
const ROUNDER = 12582912;
const ROUNDER_BITS = 0x4b400000;
const CONSTANTS = [-104, 88, Math.LOG2E, ROUNDER, 0.693359375, -2.1219444e-4, ...EXP_P, ...TANH_P, 0, 1, 2, 0.625, 44];

function define(mod: ModuleBuilder): void {
  // lstmCell_f32(gates, c, h, c1, B, H): h = σ(o)·tanh(c1), c1 = σ(f)·c + σ(i)·tanh(g), [B, H] planes.
  mod.fn('lstmCell_f32', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], [], (c) => {
    const [gates, cIn, hOut, c1Out, B, H] = [0, 1, 2, 3, 4, 5].map((i) => c.param(i));
    hoist(c);
    rows(c, gates, B, H, (gp, ep, H4) => {
      const [si, sf, tg, so] = activations(c, gp, H4);
      const [c0, c1, t] = [vec(c), vec(c), vec(c)];
      c.get(cIn).get(ep).op('i32.add').vmem('load').set(c0);
      mulAdd2(c, sf, c0, si, tg).set(c1);
      c.get(c1Out).get(ep).op('i32.add').get(c1).vmem('store');
      tanh(c, c1, t);
      c.get(hOut).get(ep).op('i32.add').get(so).get(t).simd('f32x4.mul').vmem('store');
    });
  });
  // lstmCellBackward_f32(gates, c, g, dz, dc, B, H): g is [2, B, H] (dh, then dc'), dz [B, 4H], dc [B, H].
  mod.fn('lstmCellBackward_f32', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], [], (c) => {
    const [gates, cIn, g, dz, dc, B, H] = [0, 1, 2, 3, 4, 5, 6].map((i) => c.param(i));
    hoist(c);
    const plane = c.local('i32');
    c.get(B).get(H).op('i32.mul').i32(4).op('i32.mul').set(plane);
    rows(c, gates, B, H, (gp, ep, H4) => {
      const [si, sf, tg, so] = activations(c, gp, H4);
      const [c0, c1, tc, dh, dct, dzp] = [vec(c), vec(c), vec(c), vec(c), vec(c), c.local('i32')];
      c.get(cIn).get(ep).op('i32.add').vmem('load').set(c0);
      mulAdd2(c, sf, c0, si, tg).set(c1);
      tanh(c, c1, tc);
      c.get(g).get(ep).op('i32.add').vmem('load').set(dh);
      // dct = dc' + (dh·σ(o))·(1 − tanh(c1)²)
      c.get(g).get(ep).op('i32.add').get(plane).op('i32.add').vmem('load');
      c.get(dh).get(so).simd('f32x4.mul');
      oneMinusSq(c, tc).simd('f32x4.mul').simd('f32x4.add').set(dct);
      c.get(dz).get(gp).op('i32.add').get(gates).op('i32.sub').set(dzp);
      const store = (k: number, push: () => void) => {
        c.get(dzp);
        if (k > 0) c.get(H4).i32(k).op('i32.mul').op('i32.add');
        push();
        c.vmem('store');
      };
      store(0, () => {
        c.get(dct).get(tg).simd('f32x4.mul');
        sigmoidSlope(c, si).simd('f32x4.mul');
      });
      store(1, () => {
        c.get(dct).get(c0).simd('f32x4.mul');
        sigmoidSlope(c, sf).simd('f32x4.mul');
      });
      store(2, () => {
        c.get(dct).get(si).simd('f32x4.mul');
        oneMinusSq(c, tg).simd('f32x4.mul');
      });
      store(3, () => {
        c.get(dh).get(tc).simd('f32x4.mul');
        sigmoidSlope(c, so).simd('f32x4.mul');
      });
      c.get(dc).get(ep).op('i32.add').get(dct).get(sf).simd('f32x4.mul').vmem('store');
    });
  });
}

const kernels = privateModule(define);

/** float32, contiguous, H a multiple of 4 and something to do: the shapes this path takes. */
function fits(c: View, views: View[]): boolean {
  const [B, H] = c.shape;
  return B * H > 0 && H % 4 === 0 && views.every((v) => v.dtype === 'float32' && isContiguous(v.shape, v.strides));
}

const f32 = (v: View): Float32Array => v.buf as Float32Array;
const slice = (v: View, n: number): Float32Array => f32(v).subarray(v.offset, v.offset + n);

/** The lstmCell kernel (src/backend/backend.ts) in SIMD when it applies; false, having done nothing, otherwise. */
export function simdLstmCell(out: View, gates: View, c: View): boolean {
  if (!fits(c, [out, gates, c])) return false;
  const [B, H] = c.shape;
  const n = B * H;
  const [gAt, cAt, hAt] = [64, 64 + 16 * n, 64 + 20 * n];
  const heap = kernels.staging(hAt + 8 * n);
  if (!heap) return false;
  new Float32Array(heap, gAt, 4 * n).set(slice(gates, 4 * n));
  new Float32Array(heap, cAt, n).set(slice(c, n));
  kernels.fns.lstmCell_f32(gAt, cAt, hAt, hAt + 4 * n, B, H);
  f32(out).set(new Float32Array(heap, hAt, 2 * n), out.offset);
  return true;
}

/** The lstmCellBackward kernel in SIMD when it applies; false, having done nothing, otherwise. */
export function simdLstmCellBackward(dGates: View, dc: View, gates: View, c: View, g: View): boolean {
  if (!fits(c, [dGates, dc, gates, c, g])) return false;
  const [B, H] = c.shape;
  const n = B * H;
  const [gAt, cAt, gradAt, dzAt, dcAt] = [64, 64 + 16 * n, 64 + 20 * n, 64 + 28 * n, 64 + 44 * n];
  const heap = kernels.staging(dcAt + 4 * n);
  if (!heap) return false;
  new Float32Array(heap, gAt, 4 * n).set(slice(gates, 4 * n));
  new Float32Array(heap, cAt, n).set(slice(c, n));
  new Float32Array(heap, gradAt, 2 * n).set(slice(g, 2 * n));
  kernels.fns.lstmCellBackward_f32(gAt, cAt, gradAt, dzAt, dcAt, B, H);
  f32(dGates).set(new Float32Array(heap, dzAt, 4 * n), dGates.offset);
  f32(dc).set(new Float32Array(heap, dcAt, n), dc.offset);
  return true;
}
