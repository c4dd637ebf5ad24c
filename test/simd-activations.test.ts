/**
 * @file The float32 SIMD kernels of src/backend/wasm/activations.ts against the js reference kernels. The LSTM cell:
 * its sigmoid and tanh within a stated number of float32 ulp of the reference's correctly rounded values (isolated
 * through gate values that make the cell return one activation), NaN, ±Inf and −0 as the reference gives them, the
 * whole cell and its backward close to the reference at nn.LSTM's sizes, and the shapes it leaves to the
 * reference. Softmax along the last dim: within a few ulp at attention's sizes, with −∞, NaN and +∞ lines as the
 * reference gives them, and the shapes it leaves to the other kernels; its VJP equal to the reference's.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Kernels, View } from '../src/backend/backend.js';
import { jsBackend } from '../src/backend/js/index.js';
import {
  simdLstmCell,
  simdLstmCellBackward,
  simdSoftmax,
  simdSoftmaxBackward,
} from '../src/backend/wasm/activations.js';

const ref = jsBackend.kernels as Kernels;

let state = 11;
function rand(): number {
  state = (Math.imul(state, 1103515245) + 12345) >>> 0;
  return state / 2 ** 32 - 0.5;
}

function view(buf: Float32Array, shape: number[], offset = 0): View {
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  return { buf, dtype: 'float32', shape, strides, offset };
}

/** Distance in float32 ulp (at the larger magnitude) between two float32 values. */
function ulps(a: number, b: number): number {
  if (Object.is(a, b)) return 0;
  const m = Math.max(Math.abs(a), Math.abs(b));
  const e = Math.max(Math.floor(Math.log2(m)), -126);
  return Math.abs(a - b) / 2 ** (e - 23);
}

/** The forward cell on both paths: [2, B, H] from gates [B, 4H] and c [B, H]. */
function both(gates: Float32Array, c: Float32Array, B: number, H: number) {
  const want = new Float32Array(2 * B * H);
  const got = new Float32Array(2 * B * H + 1);
  ref.lstmCell(view(want, [2, B, H]), view(gates, [B, 4 * H]), view(c, [B, H]));
  assert.ok(simdLstmCell(view(got, [2, B, H], 1), view(gates, [B, 4 * H]), view(c, [B, H])), 'SIMD path taken');
  return { want, got: got.subarray(1) };
}

/** Gates (i, f, g, o) per element, from per-gate generators of the element index. */
function gatesOf(B: number, H: number, gen: ((e: number) => number)[]): Float32Array {
  const z = new Float32Array(4 * B * H);
  for (let b = 0; b < B; b++)
    for (let k = 0; k < 4; k++) for (let j = 0; j < H; j++) z[(4 * b + k) * H + j] = gen[k](b * H + j);
  return z;
}

const SAMPLES = 1 << 16;
const xs = Float32Array.from(
  { length: SAMPLES },
  (_, e) => (e % 4 === 0 ? rand() * 2 : rand() * 170) * (e % 7 ? 1 : 0.01),
);

test('SIMD sigmoid is within 2 ulp and tanh within 1 ulp of the reference (one activation isolated)', () => {
  const [B, H] = [SAMPLES / 256, 256];
  const c = new Float32Array(B * H);
  // c' = σ(f)·0 + σ(i)·tanh(+∞) = σ(i); h = σ(+∞)·tanh(c') — tanh(σ(i)), compared as such.
  const sig = both(
    gatesOf(B, H, [(e) => xs[e], () => 0, () => Number.POSITIVE_INFINITY, () => Number.POSITIVE_INFINITY]),
    c,
    B,
    H,
  );
  // c' = σ(+∞)·tanh(g) = tanh(g).
  const th = both(
    gatesOf(B, H, [() => Number.POSITIVE_INFINITY, () => 0, (e) => xs[e], () => Number.POSITIVE_INFINITY]),
    c,
    B,
    H,
  );
  let [worstSig, worstTanh] = [0, 0];
  for (let e = 0; e < B * H; e++) {
    if (Math.abs(sig.want[B * H + e]) > 2 ** -126)
      worstSig = Math.max(worstSig, ulps(sig.got[B * H + e], sig.want[B * H + e]));
    worstTanh = Math.max(worstTanh, ulps(th.got[B * H + e], th.want[B * H + e]));
  }
  assert.ok(worstSig <= 2, `sigmoid: ${worstSig} ulp`);
  assert.ok(worstTanh <= 1, `tanh: ${worstTanh} ulp`);
});

test('special values: NaN stays NaN, ±Inf and ±0 as the reference gives them', () => {
  const special = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, -0, 1e-30, -1e-30, 100, -100];
  const [B, H] = [1, 4 * special.length];
  const at = (e: number) => special[e % special.length];
  for (const k of [0, 1, 2, 3]) {
    const gen: ((e: number) => number)[] = [() => 0.5, () => 0.5, () => 0.5, () => 0.5];
    gen[k] = at;
    const c = Float32Array.from({ length: B * H }, (_, e) => special[(e + 3) % special.length]);
    const { want, got } = both(gatesOf(B, H, gen), c, B, H);
    for (let e = 0; e < want.length; e++) {
      const [w, g] = [want[e], got[e]];
      if (Number.isNaN(w) || !Number.isFinite(w) || w === 0)
        assert.ok(Object.is(w, g), `gate ${k}, ${e}: ${g} vs ${w}`);
      else assert.ok(Math.abs(g - w) <= 1e-6 * Math.abs(w) + 1e-37, `gate ${k}, ${e}: ${g} vs ${w}`);
    }
  }
});

test('forward and backward at nn.LSTM sizes are close to the reference', () => {
  for (const [B, H] of [
    [32, 256],
    [3, 4],
    [5, 12],
  ]) {
    const n = B * H;
    const gates = Float32Array.from({ length: 4 * n }, () => rand() * 12);
    const c = Float32Array.from({ length: n }, () => rand() * 4);
    const g = Float32Array.from({ length: 2 * n }, () => rand());
    const { want, got } = both(gates, c, B, H);
    for (let e = 0; e < 2 * n; e++)
      // c' = σ(f)·c + σ(i)·tanh(g) cancels where the terms nearly cancel: the terms' ulp is an absolute error.
      assert.ok(Math.abs(got[e] - want[e]) <= 1e-6 * Math.abs(want[e]) + 1e-6, `forward ${e}: ${got[e]} vs ${want[e]}`);
    const d = [new Float32Array(5 * n), new Float32Array(5 * n + 2)];
    ref.lstmCellBackward(
      view(d[0], [B, 4 * H]),
      view(d[0], [B, H], 4 * n),
      view(gates, [B, 4 * H]),
      view(c, [B, H]),
      view(g, [2, B, H]),
    );
    const taken = simdLstmCellBackward(
      view(d[1], [B, 4 * H], 2),
      view(d[1], [B, H], 2 + 4 * n),
      view(gates, [B, 4 * H]),
      view(c, [B, H]),
      view(g, [2, B, H]),
    );
    assert.ok(taken, 'SIMD path taken');
    // σ′ = σ(1 − σ) cancels where σ ≈ 1, so the slopes carry the activations' ulp as an absolute error.
    for (let e = 0; e < 5 * n; e++) {
      const [w, v] = [d[0][e], d[1][e + 2]];
      assert.ok(Math.abs(v - w) <= 1e-5 * Math.abs(w) + 1e-6, `backward ${e}: ${v} vs ${w}`);
    }
  }
});

test('float64, H not a multiple of 4 and strided operands are left to the reference', () => {
  const g4 = new Float32Array(4 * 6);
  assert.equal(
    simdLstmCell(
      view(new Float32Array(12), [2, 2, 3]),
      view(g4.subarray(0, 24), [2, 12]),
      view(new Float32Array(6), [2, 3]),
    ),
    false,
  );
  const f64: View = { buf: new Float64Array(8), dtype: 'float64', shape: [2, 4], strides: [4, 1], offset: 0 };
  const g64: View = { buf: new Float64Array(32), dtype: 'float64', shape: [2, 16], strides: [16, 1], offset: 0 };
  const o64: View = { buf: new Float64Array(16), dtype: 'float64', shape: [2, 2, 4], strides: [8, 4, 1], offset: 0 };
  assert.equal(simdLstmCell(o64, g64, f64), false);
  const strided: View = { buf: new Float32Array(16), dtype: 'float32', shape: [2, 4], strides: [1, 2], offset: 0 };
  assert.equal(
    simdLstmCell(view(new Float32Array(16), [2, 2, 4]), view(new Float32Array(32), [2, 16]), strided),
    false,
  );
});

test('softmax along the last dim: within 3 ulp of the reference (plus the rounding of x − max), special lines alike', () => {
  for (const [lines, len] of [
    [1024, 64],
    [3, 4],
    [2, 1000],
  ]) {
    const n = lines * len;
    const x = Float32Array.from({ length: n }, (_, i) => rand() * (i % 3 ? 20 : 200));
    if (len === 4) {
      x.set([Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY]);
      x.set([1, Number.NaN, 2, 3], 4);
      x.set([1, Number.POSITIVE_INFINITY, 2, Number.NEGATIVE_INFINITY], 8);
    }
    const want = new Float32Array(n);
    const got = new Float32Array(n + 3);
    ref.softmax('softmax', view(want, [lines, len]), view(x, [lines, len]), 1);
    assert.ok(simdSoftmax(view(got, [lines, len], 3), view(x, [lines, len])), 'SIMD path taken');
    // x − max is rounded to float32 by the SIMD kernel, which costs up to |x − max| ulp of the result.
    let worst = 0;
    for (let i = 0; i < n; i++) {
      const [w, g] = [want[i], got[i + 3]];
      const line = x.subarray(i - (i % len), i - (i % len) + len);
      const shift = Math.abs(x[i] - line.reduce((a, b) => Math.max(a, b)));
      if (Number.isNaN(w) || w === 0 || Math.abs(w) < 2 ** -126)
        assert.ok(Object.is(w, g) || Math.abs(g - w) < 2 ** -120, `${i}: ${g} vs ${w}`);
      else worst = Math.max(worst, ulps(g, w) - shift);
    }
    assert.ok(worst <= 3, `[${lines}, ${len}]: ${worst} ulp`);
  }
  const odd = new Float32Array(6);
  assert.equal(simdSoftmax(view(new Float32Array(6), [2, 3]), view(odd, [2, 3])), false);
  const f64: View = { buf: new Float64Array(8), dtype: 'float64', shape: [2, 4], strides: [4, 1], offset: 0 };
  assert.equal(simdSoftmax({ ...f64, buf: new Float64Array(8) }, f64), false);
});

test("softmax's VJP along the last dim equals the reference kernel (a rare 1-ulp tie apart)", () => {
  let differ = 0;
  for (const [lines, len] of [
    [1024, 64],
    [3, 4],
    [2, 1000],
  ]) {
    const n = lines * len;
    const g = Float32Array.from({ length: n }, () => rand());
    const y = Float32Array.from({ length: n }, () => rand() + 0.5);
    if (len === 4) g.set([1, Number.NaN, 2, 3], 4);
    const want = new Float32Array(n);
    const got = new Float32Array(n + 1);
    ref.softmaxBackward(view(want, [lines, len]), view(g, [lines, len]), view(y, [lines, len]), 1);
    assert.ok(
      simdSoftmaxBackward(view(got, [lines, len], 1), view(g, [lines, len]), view(y, [lines, len])),
      'SIMD path taken',
    );
    for (let i = 0; i < n; i++) {
      const [w, v] = [want[i], got[i + 1]];
      if (Object.is(w, v)) continue;
      assert.ok(ulps(v, w) <= 1, `[${lines}, ${len}] ${i}: ${v} vs ${w}`);
      differ++;
    }
  }
  assert.ok(differ <= 70, `${differ} values differ by 1 ulp`);
  assert.equal(
    simdSoftmaxBackward(
      view(new Float32Array(6), [2, 3]),
      view(new Float32Array(6), [2, 3]),
      view(new Float32Array(6), [2, 3]),
    ),
    false,
  );
});
