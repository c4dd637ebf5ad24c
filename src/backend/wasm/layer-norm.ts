/**
 * @file WebAssembly SIMD for the layerNorm kernel and its VJP (src/backend/backend.ts) on float32 lines whose length is
 * a multiple of 4: each float32 vector is widened to two float64 pairs and the arithmetic is the reference's, in
 * float64 (the mean, the biased variance of the deviations, 1/√(var + eps), then one rounding per value), so only the
 * order of the float64 sums differs from the js reference's (two lanes, then their sum): results match it to the
 * last float32 bit but for rare ties. V8's loops over these lines cost ~15 ns per element forward (three passes in
 * float64 over TypedArrays); these a few instructions per pair.
 */
import { isContiguous } from '../../core/shape.js';
import type { View } from '../backend.js';
import { type Code, type Local, type ModuleBuilder, privateModule } from './asm.js';
import { forLines, forVectors, sumPair, widen } from './simd-math.js';

/** Pushes the float64 pair of lanes 0–1 (hi = false) or 2–3 (hi = true) of the float32 vector at address `at`. */
function pair(c: Code, at: Local, hi: boolean): Code {
  return widen(c, () => c.get(at).vmem('load'), hi);
}

/**
 * For each of R lines of D float32s from x: `perLine` with the line's first address `p` and end `end` (bytes), and
 * the line's float64 mean `mu` and 1/√(var + eps) `rstd` as pairs, computed as the reference does.
 */
function lines(
  c: Code,
  x: Local,
  R: Local,
  D: Local,
  eps: Local,
  perLine: (p: Local, end: Local, mu: Local, rstd: Local) => void,
): void {
  const d4 = c.local('i32');
  const [acc, mu, rstd, dev] = [0, 1, 2, 3].map(() => c.local('v128'));
  c.get(D).i32(4).op('i32.mul').set(d4);
  forLines(c, x, R, d4, (p, end) => {
    c.f64(0).simd('f64x2.splat').set(acc);
    forVectors(c, p, end, (q) => {
      c.get(acc);
      pair(c, q, false).simd('f64x2.add');
      pair(c, q, true).simd('f64x2.add').set(acc);
    });
    sumPair(c, acc).get(D).op('f64.convert_i32_s').op('f64.div').simd('f64x2.splat').set(mu);
    c.f64(0).simd('f64x2.splat').set(acc);
    forVectors(c, p, end, (q) => {
      for (const hi of [false, true]) {
        pair(c, q, hi).get(mu).simd('f64x2.sub').set(dev);
        c.get(acc).get(dev).get(dev).simd('f64x2.mul').simd('f64x2.add').set(acc);
      }
    });
    c.f64(1);
    sumPair(c, acc).get(D).op('f64.convert_i32_s').op('f64.div').get(eps).op('f64.add').op('f64.sqrt').op('f64.div');
    c.simd('f64x2.splat').set(rstd);
    perLine(p, end, mu, rstd);
  });
}

/** Stores two float64 pairs as one float32 vector at `at` (each rounded once). */
function storePairs(c: Code, at: Local, lo: Local, hi: Local): void {
  c.get(at).get(lo).simd('f32x4.demote_f64x2_zero').get(hi).simd('f32x4.demote_f64x2_zero');
  c.shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]).vmem('store');
}

function define(mod: ModuleBuilder): void {
  // layerNorm_f32(x, o, R, D, eps): o = (x − mu)·rstd per line.
  mod.fn('layerNorm_f32', ['i32', 'i32', 'i32', 'i32', 'f64'], [], (c) => {
    const [x, o, R, D, eps] = [0, 1, 2, 3, 4].map((i) => c.param(i));
    const at = c.local('i32');
    const [lo, hi] = [c.local('v128'), c.local('v128')];
    lines(c, x, R, D, eps, (p, end, mu, rstd) =>
      forVectors(c, p, end, (q) => {
        pair(c, q, false).get(mu).simd('f64x2.sub').get(rstd).simd('f64x2.mul').set(lo);
        pair(c, q, true).get(mu).simd('f64x2.sub').get(rstd).simd('f64x2.mul').set(hi);
        c.get(q).get(o).op('i32.add').get(x).op('i32.sub').set(at);
        storePairs(c, at, lo, hi);
      }),
    );
  });
  // layerNormBackward_f32(g, x, o, R, D, eps): o = rstd·(g − mean(g) − y·mean(g·y)), y = (x − mu)·rstd.
  mod.fn('layerNormBackward_f32', ['i32', 'i32', 'i32', 'i32', 'i32', 'f64'], [], (c) => {
    const [g, x, o, R, D, eps] = [0, 1, 2, 3, 4, 5].map((i) => c.param(i));
    const [gq, at] = [c.local('i32'), c.local('i32')];
    const [sg, sgy, mg, mgy, gv, lo, hi] = [0, 1, 2, 3, 4, 5, 6].map(() => c.local('v128'));
    lines(c, x, R, D, eps, (p, end, mu, rstd) => {
      c.f64(0).simd('f64x2.splat').set(sg);
      c.f64(0).simd('f64x2.splat').set(sgy);
      forVectors(c, p, end, (q) => {
        c.get(q).get(g).op('i32.add').get(x).op('i32.sub').set(gq);
        for (const half of [false, true]) {
          pair(c, gq, half).set(gv);
          c.get(sg).get(gv).simd('f64x2.add').set(sg);
          // sgy += g·(x − mu)·rstd, left to right as the reference.
          c.get(sgy).get(gv);
          pair(c, q, half).get(mu).simd('f64x2.sub').simd('f64x2.mul').get(rstd).simd('f64x2.mul');
          c.simd('f64x2.add').set(sgy);
        }
      });
      for (const [acc, m] of [
        [sg, mg],
        [sgy, mgy],
      ] as [Local, Local][])
        sumPair(c, acc).get(D).op('f64.convert_i32_s').op('f64.div').simd('f64x2.splat').set(m);
      forVectors(c, p, end, (q) => {
        c.get(q).get(g).op('i32.add').get(x).op('i32.sub').set(gq);
        for (const [half, to] of [
          [false, lo],
          [true, hi],
        ] as [boolean, Local][]) {
          // rstd·((g − mg) − ((x − mu)·rstd)·mgy)
          c.get(rstd);
          pair(c, gq, half).get(mg).simd('f64x2.sub');
          pair(c, q, half).get(mu).simd('f64x2.sub').get(rstd).simd('f64x2.mul').get(mgy).simd('f64x2.mul');
          c.simd('f64x2.sub').simd('f64x2.mul').set(to);
        }
        c.get(q).get(o).op('i32.add').get(x).op('i32.sub').set(at);
        storePairs(c, at, lo, hi);
      });
    });
  });
}

const kernels = privateModule(define);

/** float32, contiguous, a line length that is a multiple of 4 and something to do. */
function fits(x: View, views: View[]): boolean {
  const D = x.shape[x.shape.length - 1];
  return (
    x.shape.length > 0 &&
    D > 0 &&
    D % 4 === 0 &&
    views.every((v) => v.dtype === 'float32' && isContiguous(v.shape, v.strides))
  );
}

const slice = (v: View, n: number): Float32Array => (v.buf as Float32Array).subarray(v.offset, v.offset + n);

/** The layerNorm kernel in SIMD when it applies; false, having done nothing, otherwise. */
export function simdLayerNorm(out: View, x: View, eps: number): boolean {
  if (!fits(x, [out, x])) return false;
  const D = x.shape[x.shape.length - 1];
  const n = x.shape.reduce((a, b) => a * b, 1);
  const [xAt, oAt] = [64, 64 + 4 * n];
  const heap = kernels.staging(oAt + 4 * n);
  if (!heap) return false;
  new Float32Array(heap, xAt, n).set(slice(x, n));
  kernels.fns.layerNorm_f32(xAt, oAt, n / D, D, eps);
  (out.buf as Float32Array).set(new Float32Array(heap, oAt, n), out.offset);
  return true;
}

/** The layerNormBackward kernel in SIMD when it applies; false, having done nothing, otherwise. */
export function simdLayerNormBackward(out: View, g: View, x: View, eps: number): boolean {
  if (!fits(x, [out, g, x])) return false;
  const D = x.shape[x.shape.length - 1];
  const n = x.shape.reduce((a, b) => a * b, 1);
  const [gAt, xAt, oAt] = [64, 64 + 4 * n, 64 + 8 * n];
  const heap = kernels.staging(oAt + 4 * n);
  if (!heap) return false;
  new Float32Array(heap, gAt, n).set(slice(g, n));
  new Float32Array(heap, xAt, n).set(slice(x, n));
  kernels.fns.layerNormBackward_f32(gAt, xAt, oAt, n / D, D, eps);
  (out.buf as Float32Array).set(new Float32Array(heap, oAt, n), out.offset);
  return true;
}
