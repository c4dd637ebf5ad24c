/**
 * @file The float32 SIMD layerNorm kernel and its VJP (src/backend/wasm/layer-norm.ts) against the js reference
 * kernels: equal to the last bit (both compute in float64 and round once; only the order of the float64 sums differs,
 * so at most a rare value may differ by 1 ulp), on lines of several lengths, with a large common offset, constant
 * lines, and NaN and ±Inf lines as the reference gives them; and the shapes it leaves to the reference.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Kernels, View } from '../src/backend/backend.js';
import { jsBackend } from '../src/backend/js/index.js';
import { simdLayerNorm, simdLayerNormBackward } from '../src/backend/wasm/layer-norm.js';

const ref = jsBackend.kernels as Kernels;

let state = 7;
function rand(): number {
  state = (Math.imul(state, 1103515245) + 12345) >>> 0;
  return state / 2 ** 32 - 0.5;
}

const view = (buf: Float32Array, R: number, D: number, offset = 0): View => ({
  buf,
  dtype: 'float32',
  shape: [R, D],
  strides: [D, 1],
  offset,
});

/** How many values differ, failing on any that differs by more than 1 ulp or is not NaN where the reference is. */
function compare(got: Float32Array, want: Float32Array, what: string): number {
  let differ = 0;
  for (let i = 0; i < want.length; i++) {
    const [g, w] = [got[i], want[i]];
    if (Object.is(g, w)) continue;
    assert.ok(Number.isFinite(w) && Number.isFinite(g), `${what} ${i}: ${g} vs ${w}`);
    const ulp = 2 ** (Math.max(Math.floor(Math.log2(Math.abs(w) || 2 ** -149)), -126) - 23);
    assert.ok(Math.abs(g - w) <= ulp, `${what} ${i}: ${g} vs ${w}`);
    differ++;
  }
  return differ;
}

test('forward and backward equal the reference kernels (at most a rare 1-ulp tie apart)', () => {
  let [total, differ] = [0, 0];
  for (const [R, D, offset] of [
    [1024, 128, 0],
    [7, 4, 0],
    [3, 1000, 0],
    [64, 64, 1e4],
  ]) {
    const n = R * D;
    const x = Float32Array.from({ length: n }, () => offset + rand() * 6);
    if (R === 7) {
      x.fill(2.5, 0, 4); // a constant line: y = 0, rstd = 1/√eps
      x.set([1, Number.NaN, 2, 3], 4);
      x.set([1, Number.POSITIVE_INFINITY, 2, 3], 8);
      x.set([Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, 0, 0], 12);
    }
    const g = Float32Array.from({ length: n }, () => rand());
    const [want, got] = [new Float32Array(n), new Float32Array(n + 1)];
    ref.layerNorm(view(want, R, D), view(x, R, D), 1e-5);
    assert.ok(simdLayerNorm(view(got, R, D, 1), view(x, R, D), 1e-5), 'SIMD path taken');
    differ += compare(got.subarray(1), want, `forward [${R}, ${D}]`);
    const [wantB, gotB] = [new Float32Array(n), new Float32Array(n + 2)];
    ref.layerNormBackward(view(wantB, R, D), view(g, R, D), view(x, R, D), 1e-5);
    assert.ok(simdLayerNormBackward(view(gotB, R, D, 2), view(g, R, D), view(x, R, D), 1e-5), 'SIMD path taken');
    differ += compare(gotB.subarray(2), wantB, `backward [${R}, ${D}]`);
    total += 2 * n;
  }
  assert.ok(differ <= total * 1e-3, `${differ} of ${total} values differ by 1 ulp`);
});

test('float64, lines not a multiple of 4 and strided operands are left to the reference', () => {
  assert.equal(simdLayerNorm(view(new Float32Array(6), 2, 3), view(new Float32Array(6), 2, 3), 1e-5), false);
  const f64: View = { buf: new Float64Array(8), dtype: 'float64', shape: [2, 4], strides: [4, 1], offset: 0 };
  assert.equal(simdLayerNorm({ ...f64, buf: new Float64Array(8) }, f64, 1e-5), false);
  const strided: View = { buf: new Float32Array(16), dtype: 'float32', shape: [2, 4], strides: [1, 2], offset: 0 };
  assert.equal(
    simdLayerNormBackward(view(new Float32Array(8), 2, 4), strided, view(new Float32Array(8), 2, 4), 1e-5),
    false,
  );
});
