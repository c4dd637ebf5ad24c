/**
 * @file The wasm SIMD path of the large arithmetic binary ops (src/backend/wasm/elementwise.ts) against the js
 * reference kernel, bit for bit: add, sub, mul, div in float32 and float64, tensor·tensor, tensor·scalar and
 * scalar·tensor, relu, neg and abs, lengths with and without a vector tail, NaN, ±Inf, −0 and denormals, and out aliasing an operand.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Kernels, View } from '../src/backend/backend.js';
import { jsBackend } from '../src/backend/js/index.js';
import { SIMD_MIN, simdAddScaled, simdBinary, simdUnary } from '../src/backend/wasm/elementwise.js';

const ref = jsBackend.kernels as Kernels;
const FNS: Record<string, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
};
const SPECIAL = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0, 1e-40, -3e-310, 1e38];

let state = 5;
function rand(): number {
  state = (Math.imul(state, 1103515245) + 12345) >>> 0;
  return (state / 2 ** 32 - 0.5) * 8;
}

function vec(dtype: 'float32' | 'float64', n: number): View {
  const buf = dtype === 'float32' ? new Float32Array(n + 3) : new Float64Array(n + 3);
  for (let i = 0; i < buf.length; i++) buf[i] = i % 97 < SPECIAL.length ? SPECIAL[i % 97] : rand();
  return { buf, dtype, shape: [n], strides: [1], offset: 3 };
}

function scalar(dtype: 'float32' | 'float64', n: number, v: number): View {
  const buf = dtype === 'float32' ? new Float32Array([9, v]) : new Float64Array([9, v]);
  return { buf, dtype, shape: [n], strides: [0], offset: 1 };
}

function out(dtype: 'float32' | 'float64', n: number): View {
  return {
    buf: dtype === 'float32' ? new Float32Array(n + 1) : new Float64Array(n + 1),
    dtype,
    shape: [n],
    strides: [1],
    offset: 1,
  };
}

function same(a: ArrayLike<number>, b: ArrayLike<number>, what: string) {
  for (let i = 0; i < a.length; i++)
    if (!Object.is(a[i], b[i])) assert.fail(`${what}: element ${i}: SIMD ${a[i]}, reference ${b[i]}`);
}

test('SIMD binary ops equal the reference kernel bit for bit', () => {
  for (const dtype of ['float32', 'float64'] as const)
    for (const name of Object.keys(FNS))
      for (const n of [SIMD_MIN, SIMD_MIN + 3, 3 * SIMD_MIN + 1])
        for (const kind of ['vv', 'vs', 'sv'] as const)
          for (const c of [0.75, -0, Number.NaN]) {
            const x = kind === 'sv' ? scalar(dtype, n, c) : vec(dtype, n);
            const y = kind === 'vs' ? scalar(dtype, n, c) : vec(dtype, n);
            const got = out(dtype, n);
            const want = out(dtype, n);
            assert.ok(simdBinary(name, got, x, y, n), `${name} ${kind} ${dtype} should take the SIMD path`);
            ref.binary(name, FNS[name], want, x, y);
            same(got.buf as Float64Array, want.buf as Float64Array, `${name} ${kind} ${dtype} n=${n} c=${c}`);
            if (kind === 'vv') break;
          }
});

test('out may alias an operand (in-place updates)', () => {
  const n = SIMD_MIN + 5;
  const x = vec('float32', n);
  const y = vec('float32', n);
  const want = out('float32', n);
  ref.binary('add', FNS.add, want, x, y);
  assert.ok(simdBinary('add', x, x, y, n));
  same((x.buf as Float32Array).subarray(3), (want.buf as Float32Array).subarray(1), 'aliased');
});

test('small, mixed-dtype, strided or unknown-op cases are declined', () => {
  const n = SIMD_MIN;
  const x = vec('float32', n);
  assert.equal(simdBinary('add', out('float32', 8), vec('float32', 8), vec('float32', 8), 8), false);
  assert.equal(simdBinary('add', out('float64', n), x, vec('float64', n), n), false);
  assert.equal(simdBinary('pow', out('float32', n), x, x, n), false);
  const strided = { ...vec('float32', 2 * n), shape: [n], strides: [2] };
  assert.equal(simdBinary('mul', out('float32', n), strided, x, n), false);
});

test('SIMD relu, neg and abs equal the reference kernel bit for bit', () => {
  const fns: Record<string, (x: number) => number> = { relu: (x) => Math.max(x, 0), neg: (x) => -x, abs: Math.abs };
  for (const dtype of ['float32', 'float64'] as const)
    for (const name of Object.keys(fns))
      for (const n of [SIMD_MIN, SIMD_MIN + 1, 2 * SIMD_MIN + 7]) {
        const x = vec(dtype, n);
        const got = out(dtype, n);
        const want = out(dtype, n);
        assert.ok(simdUnary(name, got, x, n), `${name} ${dtype} should take the SIMD path`);
        ref.unary(name, fns[name], want, x, []);
        same(got.buf as Float64Array, want.buf as Float64Array, `${name} ${dtype} n=${n}`);
      }
});

test('a broadcast row (the bias of a linear layer) takes the SIMD path, bit for bit', () => {
  for (const dtype of ['float32', 'float64'] as const)
    for (const name of Object.keys(FNS))
      for (const [rows, m] of [
        [128, 512],
        [300, 129],
      ]) {
        const n = rows * m;
        const x = { ...vec(dtype, n), shape: [rows, m], strides: [m, 1] };
        const row = vec(dtype, m);
        const y = { ...row, shape: [rows, m], strides: [0, 1] };
        const got = { ...out(dtype, n), shape: [rows, m], strides: [m, 1] };
        const want = { ...out(dtype, n), shape: [rows, m], strides: [m, 1] };
        assert.ok(simdBinary(name, got, x, y, n), `${name} ${dtype} row should take the SIMD path`);
        ref.binary(name, FNS[name], want, x, y);
        same(got.buf as Float64Array, want.buf as Float64Array, `${name} ${dtype} row ${rows}×${m}`);
      }
});

test('addScaled (x + alpha·y in one pass) equals mul then add, bit for bit, in the reference and with SIMD', () => {
  for (const dtype of ['float32', 'float64'] as const)
    for (const alpha of [-0.01, 0.1, 3, -1e-7])
      for (const n of [SIMD_MIN, SIMD_MIN + 3]) {
        const x = vec(dtype, n);
        const y = vec(dtype, n);
        // mul by a wrapped scalar (alpha in the dtype), then add: the two-pass result.
        const alphaView = scalar(dtype, n, dtype === 'float32' ? Math.fround(alpha) : alpha);
        const prod = out(dtype, n);
        ref.binary('mul', FNS.mul, prod, y, alphaView);
        const want = out(dtype, n);
        ref.binary('add', FNS.add, want, x, prod);
        const viaRef = out(dtype, n);
        ref.addScaled(viaRef, x, y, alpha);
        same(viaRef.buf as Float64Array, want.buf as Float64Array, `reference addScaled ${dtype} ${alpha}`);
        const viaSimd = out(dtype, n);
        assert.ok(simdAddScaled(viaSimd, x, y, alpha, n));
        same(viaSimd.buf as Float64Array, want.buf as Float64Array, `SIMD addScaled ${dtype} ${alpha}`);
      }
});

test('float32 · bool mask (ReLU backward) takes the SIMD path, bit for bit', () => {
  for (const n of [SIMD_MIN, SIMD_MIN + 3]) {
    const g = vec('float32', n);
    const maskBuf = new Uint8Array(n + 2);
    for (let i = 0; i < maskBuf.length; i++) maskBuf[i] = rand() > 0 ? 1 : 0;
    const mask: View = { buf: maskBuf, dtype: 'bool', shape: [n], strides: [1], offset: 2 };
    for (const [x, y] of [
      [g, mask],
      [mask, g],
    ]) {
      const got = out('float32', n);
      const want = out('float32', n);
      assert.ok(simdBinary('mul', got, x, y, n), 'should take the SIMD path');
      ref.binary('mul', FNS.mul, want, x, y);
      same(got.buf as Float32Array, want.buf as Float32Array, `mask mul n=${n}`);
    }
  }
});

test('float32 comparisons with a scalar (ReLU’s mask) take the SIMD path, bit for bit', () => {
  const cmps: Record<string, (a: number, b: number) => number> = {
    eq: (a, b) => (a === b ? 1 : 0),
    ne: (a, b) => (a !== b ? 1 : 0),
    lt: (a, b) => (a < b ? 1 : 0),
    le: (a, b) => (a <= b ? 1 : 0),
    gt: (a, b) => (a > b ? 1 : 0),
    ge: (a, b) => (a >= b ? 1 : 0),
  };
  for (const name of Object.keys(cmps))
    for (const n of [SIMD_MIN, SIMD_MIN + 5])
      for (const c of [0, -0, 0.5, Number.NaN]) {
        const x = vec('float32', n);
        const y = scalar('float32', n, c);
        const mk = (): View => ({ buf: new Uint8Array(n + 1), dtype: 'bool', shape: [n], strides: [1], offset: 1 });
        const got = mk();
        const want = mk();
        assert.ok(simdBinary(name, got, x, y, n), `${name} should take the SIMD path`);
        ref.binary(name, cmps[name], want, x, y);
        same(got.buf as Uint8Array, want.buf as Uint8Array, `${name} c=${c} n=${n}`);
      }
});
