/**
 * @file The shared fast CPU kernels (src/backend/fast-kernels.ts) against the js reference kernels on identical
 * inputs: every fast op name, float32 and float64 (plus int32, int64, bool and mixed dtypes where ops produce them), sizes
 * 0 to 1023, the layouts the fast paths take (contiguous, broadcast scalar, bias row, column, NCHW channel) and ones
 * that fall back (transposed, strided), at non-zero offsets, with NaN, ±Infinity and −0 among the values. The fast
 * loops compute each element as the reference does, so every result must match exactly (NaN matching NaN), in
 * float64 as in float32.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BinaryFn, Kernels, UnaryFn, View } from '../src/backend/backend.js';
import { fastKernels } from '../src/backend/fast-kernels.js';
import { jsBackend } from '../src/backend/js/index.js';
import { DTYPES, type DType, type TypedArray } from '../src/core/dtype.js';
import * as ad from '../src/index.js';

const ref = jsBackend.kernels as Kernels;
const fast = fastKernels as Kernels;

// The ops' own scalar functions, recorded by a spy backend while the real ops run, so the fast loops are checked
// against the functions the library actually passes rather than restatements of them.
const unaryFns = new Map<string, { fn: UnaryFn; params: readonly number[] }>();
const binaryFns = new Map<string, BinaryFn>();
ad.registerBackend({
  ...jsBackend,
  name: 'fast-kernels-spy',
  kernels: {
    ...jsBackend.kernels,
    unary(name, fn, out, x, params) {
      if (!unaryFns.has(name)) unaryFns.set(name, { fn, params: params.slice() });
      ref.unary(name, fn, out, x, params);
    },
    binary(name, fn, out, x, y) {
      if (!binaryFns.has(name)) binaryFns.set(name, fn);
      ref.binary(name, fn, out, x, y);
    },
  },
});
ad.setBackend('fast-kernels-spy');
{
  const x = ad.tensor([0.5, -1, 2]);
  for (const m of ['neg', 'exp', 'log', 'log1p', 'expm1', 'sqrt', 'rsqrt', 'reciprocal', 'abs', 'sign', 'round'])
    (x as any)[m]();
  for (const m of ['floor', 'ceil', 'trunc', 'sin', 'cos', 'tanh', 'sigmoid', 'erf', 'relu']) (x as any)[m]();
  x.clamp(-0.75, 1.25);
  ad.F.leakyRelu(x, 0.2);
  ad.F.elu(x, 0.5);
  ad.F.softplus(x);
  for (const m of ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'])
    (x as any)[m](x);
  x.bool().logicalAnd(x.bool());
}
ad.setBackend('js');

const UNARY = [...unaryFns.keys()];
const BINARY = [...binaryFns.keys()];
const COMPARISONS = new Set(['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'logicalAnd']);

/** A tiny LCG, so every run sees the same inputs. */
let seed = 12345;
function rand(): number {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32;
}
const SPECIAL = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0, 1, -1, 0.5];
function value(dtype: DType): number {
  if (dtype === 'bool') return rand() < 0.5 ? 1 : 0;
  if (dtype === 'int32') return Math.floor(rand() * 21) - 10;
  // int64 in its Float64Array: small integers, 0 (whose negation must not be −0) and some beyond int32's range.
  if (dtype === 'int64') return rand() < 0.1 ? (rand() < 0.5 ? -1 : 1) * 2 ** 40 : Math.floor(rand() * 21) - 10;
  const u = rand();
  // Mostly normal-ish values, some repeats (ties for max/min/argmax), some specials.
  if (u < 0.06) return SPECIAL[Math.floor(rand() * SPECIAL.length)];
  if (u < 0.12) return 1.5;
  return (rand() - 0.5) * 6;
}

type Layout = 'contig' | 'scalar' | 'row' | 'col' | 'channel' | 'transposed' | 'strided';

/** A view of `shape` in the given layout over a fresh buffer, starting at a non-zero offset. */
function makeView(dtype: DType, shape: number[], layout: Layout, fill = true): View {
  const nd = shape.length;
  let strides: number[];
  let extent: number;
  const contiguous = (s: number[]) => {
    const st: number[] = [];
    let n = 1;
    for (let d = s.length - 1; d >= 0; d--) {
      st[d] = n;
      n *= s[d];
    }
    return { st, n };
  };
  if (layout === 'contig') {
    const c = contiguous(shape);
    strides = c.st;
    extent = c.n;
  } else if (layout === 'scalar') {
    strides = shape.map(() => 0);
    extent = 1;
  } else if (layout === 'row') {
    // [.., m] with the last dim contiguous and every other broadcast: a bias.
    strides = shape.map((_, d) => (d === nd - 1 ? 1 : 0));
    extent = shape[nd - 1];
  } else if (layout === 'col') {
    // [n, m] read as a column [n, 1] broadcast along the last dim.
    const c = contiguous(shape.slice(0, nd - 1));
    strides = [...c.st, 0];
    extent = c.n;
  } else if (layout === 'channel') {
    strides = shape.map((_, d) => (d === 1 ? 1 : 0));
    extent = shape[1];
  } else if (layout === 'transposed') {
    const c = contiguous([...shape].reverse());
    strides = [...c.st].reverse();
    extent = c.n;
  } else {
    const c = contiguous(shape);
    strides = c.st.map((s) => 2 * s);
    extent = 2 * c.n;
  }
  const offset = 3;
  const buf = new DTYPES[dtype].array(offset + extent + 2);
  if (fill) for (let i = 0; i < buf.length; i++) buf[i] = value(dtype);
  return { buf, dtype, shape, strides, offset };
}

/** An output buffer (contiguous, at an offset) and an identical copy for the other kernel. */
function outPair(dtype: DType, shape: number[]): [View, View] {
  const a = makeView(dtype, shape, 'contig');
  const b = { ...a, buf: (a.buf as TypedArray).slice() };
  return [a, b];
}

function assertSame(got: View, want: View, what: string): void {
  const g = got.buf as TypedArray;
  const w = want.buf as TypedArray;
  assert.equal(g.length, w.length);
  for (let i = 0; i < g.length; i++)
    if (!Object.is(g[i], w[i]) && !(g[i] !== g[i] && w[i] !== w[i]))
      assert.fail(`${what}: element ${i} is ${g[i]}, the reference gives ${w[i]}`);
}

const SHAPES: number[][] = [
  [0, 5],
  [1, 1],
  [7, 1],
  [1, 7],
  [3, 43],
  [31, 33],
  [2, 3, 4, 5],
];
const FLOATS: DType[] = ['float32', 'float64'];
const layoutsFor = (shape: number[]): Layout[] =>
  shape.length === 4
    ? ['contig', 'scalar', 'row', 'channel', 'strided']
    : ['contig', 'scalar', 'row', 'col', 'transposed', 'strided'];

describe('fast kernels match the reference', () => {
  test('unary', () => {
    assert.ok(UNARY.length >= 20, `recorded ${UNARY.join(', ')}`);
    for (const name of UNARY) {
      const { fn, params } = unaryFns.get(name)!;
      for (const dtype of [...FLOATS, 'int32' as const])
        for (const shape of SHAPES)
          for (const layout of ['contig', 'scalar', 'transposed'] as Layout[]) {
            const x = makeView(dtype, shape, layout);
            const outDtype = dtype === 'int32' ? 'float32' : dtype;
            const [o1, o2] = outPair(outDtype, shape);
            fast.unary(name, fn, o1, x, params);
            ref.unary(name, fn, o2, x, params);
            assertSame(o1, o2, `${name} ${dtype} [${shape}] ${layout}`);
          }
    }
  });

  test('binary', () => {
    assert.ok(BINARY.length >= 14, `recorded ${BINARY.join(', ')}`);
    for (const name of BINARY) {
      const fn = binaryFns.get(name)!;
      const inDtypes: DType[] = name === 'logicalAnd' ? ['bool'] : FLOATS;
      for (const dtype of inDtypes)
        for (const shape of SHAPES) {
          const layouts = layoutsFor(shape);
          for (const la of layouts)
            for (const lb of layouts) {
              if (la !== 'contig' && lb !== 'contig' && !(la === 'scalar' && lb === 'scalar')) continue;
              const a = makeView(dtype, shape, la);
              const b = makeView(dtype, shape, lb);
              const [o1, o2] = outPair(COMPARISONS.has(name) ? 'bool' : dtype, shape);
              fast.binary(name, fn, o1, a, b);
              ref.binary(name, fn, o2, a, b);
              assertSame(o1, o2, `${name} ${dtype} [${shape}] ${la} ∘ ${lb}`);
            }
        }
    }
  });

  test('binary: mixed and integer dtypes, an op without a fast loop, a bool output that needs normalising', () => {
    const atan2: BinaryFn = Math.atan2;
    const cases: [string, BinaryFn, DType, DType, DType][] = [
      ['add', binaryFns.get('add')!, 'float32', 'float64', 'float64'],
      ['mul', binaryFns.get('mul')!, 'int32', 'float32', 'float32'],
      ['add', binaryFns.get('add')!, 'int32', 'int32', 'int32'],
      ['sub', binaryFns.get('sub')!, 'int32', 'int32', 'int32'],
      ['atan2', atan2, 'float32', 'float32', 'float32'],
      ['add', binaryFns.get('add')!, 'bool', 'bool', 'bool'],
    ];
    for (const [name, fn, da, db, dout] of cases)
      for (const shape of SHAPES)
        for (const lb of ['contig', 'scalar', 'row'] as Layout[]) {
          const a = makeView(da, shape, 'contig');
          const b = makeView(db, shape, lb);
          const [o1, o2] = outPair(dout, shape);
          fast.binary(name, fn, o1, a, b);
          ref.binary(name, fn, o2, a, b);
          assertSame(o1, o2, `${name} ${da}/${db}→${dout} [${shape}] ${lb}`);
        }
  });

  test('int64 (a Float64Array): stores truncate, −0 becomes 0, mixed dtypes read exactly', () => {
    // Every unary name into int64 (the ones that keep an integer dtype, and the float ones whose results a store
    // must truncate), and int64 read into float64.
    for (const name of UNARY) {
      const { fn, params } = unaryFns.get(name)!;
      for (const outDtype of ['int64', 'float64'] as const)
        for (const shape of SHAPES)
          for (const layout of ['contig', 'scalar', 'transposed'] as Layout[]) {
            const x = makeView('int64', shape, layout);
            const [o1, o2] = outPair(outDtype, shape);
            fast.unary(name, fn, o1, x, params);
            ref.unary(name, fn, o2, x, params);
            assertSame(o1, o2, `${name} int64→${outDtype} [${shape}] ${layout}`);
          }
    }
    const cases: [string, DType, DType, DType][] = [];
    for (const name of ['add', 'sub', 'mul', 'maximum', 'minimum', 'pow'])
      cases.push(
        [name, 'int64', 'int64', 'int64'],
        [name, 'int64', 'int32', 'int64'],
        [name, 'int64', 'bool', 'int64'],
      );
    for (const name of ['mul', 'div'])
      cases.push([name, 'int64', 'float64', 'float64'], [name, 'int64', 'float32', 'float32']);
    for (const name of COMPARISONS) if (name !== 'logicalAnd') cases.push([name, 'int64', 'int64', 'bool']);
    for (const [name, da, db, dout] of cases)
      for (const shape of SHAPES)
        for (const lb of ['contig', 'scalar', 'row'] as Layout[]) {
          const fn = binaryFns.get(name)!;
          const a = makeView(da, shape, 'contig');
          const b = makeView(db, shape, lb);
          if (name === 'pow') for (let i = 0; i < (b.buf as TypedArray).length; i++) (b.buf as TypedArray)[i] &&= 2;
          const [o1, o2] = outPair(dout, shape);
          fast.binary(name, fn, o1, a, b);
          ref.binary(name, fn, o2, a, b);
          assertSame(o1, o2, `${name} ${da}/${db}→${dout} [${shape}] ${lb}`);
        }
    // The reference itself: 0 · −3 and −0 stored as 0, 2.7 and −2.7 truncated.
    const o: View = { buf: new Float64Array(4), dtype: 'int64', shape: [4], strides: [1], offset: 0 };
    const x: View = {
      buf: new Float64Array([0, -0, 2.7, -2.7]),
      dtype: 'float64',
      shape: [4],
      strides: [1],
      offset: 0,
    };
    for (const k of [ref, fast]) {
      k.unary('neg', (v) => -v, o, { ...x, buf: new Float64Array([0, 0, 2, -2]), dtype: 'int64' }, []);
      assert.deepEqual(Array.from(o.buf as Float64Array), [0, 0, -2, 2]);
      assert.ok(Object.is((o.buf as Float64Array)[0], 0));
      k.copy(o, x);
      assert.deepEqual(Array.from(o.buf as Float64Array), [0, 0, 2, -2]);
      assert.ok(Object.is((o.buf as Float64Array)[1], 0));
    }
  });

  test('binary in place (out aliasing a, as gradient accumulation does)', () => {
    const add = binaryFns.get('add')!;
    for (const dtype of FLOATS)
      for (const shape of SHAPES)
        for (const lb of ['contig', 'row', 'col'] as Layout[]) {
          if (shape.length === 4 && lb === 'col') continue;
          const a1 = makeView(dtype, shape, 'contig');
          const a2 = { ...a1, buf: (a1.buf as TypedArray).slice() };
          const b = makeView(dtype, shape, lb);
          fast.binary('add', add, a1, a1, b);
          ref.binary('add', add, a2, a2, b);
          assertSame(a1, a2, `add_ ${dtype} [${shape}] ${lb}`);
        }
  });

  test('where', () => {
    for (const dtype of [...FLOATS, 'bool' as const])
      for (const shape of SHAPES)
        for (const lc of ['contig', 'scalar', 'row'] as Layout[])
          for (const la of ['contig', 'scalar', 'transposed'] as Layout[])
            for (const lb of ['contig', 'scalar'] as Layout[]) {
              const c = makeView('bool', shape, lc);
              const a = makeView(dtype, shape, la);
              const b = makeView(dtype, shape, lb);
              const [o1, o2] = outPair(dtype, shape);
              fast.where(o1, c, a, b);
              ref.where(o2, c, a, b);
              assertSame(o1, o2, `where ${dtype} [${shape}] ${lc} ${la} ${lb}`);
            }
  });

  test('copy and fill', () => {
    const dtypes: DType[] = ['float32', 'float64', 'int64', 'int32', 'bool'];
    for (const from of dtypes)
      for (const to of dtypes)
        for (const shape of [...SHAPES, [2, 3, 5]])
          for (const layout of ['contig', 'transposed', 'strided', 'scalar'] as Layout[]) {
            const x = makeView(from, shape, layout);
            const [o1, o2] = outPair(to, shape);
            fast.copy(o1, x);
            ref.copy(o2, x);
            assertSame(o1, o2, `copy ${from}→${to} [${shape}] ${layout}`);
          }
    for (const dtype of dtypes)
      for (const v of [2.7, -3.5, Number.NaN, Number.POSITIVE_INFINITY, 0]) {
        const [o1, o2] = outPair(dtype, [31, 33]);
        fast.fill(o1, v);
        ref.fill(o2, v);
        assertSame(o1, o2, `fill ${dtype} ${v}`);
      }
    // Into a strided output (a slice's adjoint scattering its piece): every dtype pair, a transposed and a strided
    // destination, from a contiguous source; the whole output buffer compared, so nothing outside the view moves.
    for (const from of dtypes)
      for (const to of dtypes)
        for (const shape of [
          [5, 7],
          [2, 3, 5],
          [64, 9],
        ])
          for (const layout of ['transposed', 'strided'] as Layout[]) {
            const x = makeView(from, shape, 'contig');
            const o1 = makeView(to, shape, layout);
            const o2 = { ...o1, buf: (o1.buf as TypedArray).slice() };
            fast.copy(o1, x);
            ref.copy(o2, x);
            assertSame(o1, o2, `copy ${from}→${to} [${shape}] into a ${layout} output`);
          }
    // Overlapping ranges of one buffer go to the reference's forward loop.
    const buf = new Float32Array(20).map((_, i) => i);
    const buf2 = buf.slice();
    fast.copy(
      { buf, dtype: 'float32', shape: [10], strides: [1], offset: 2 },
      { buf, dtype: 'float32', shape: [10], strides: [1], offset: 0 },
    );
    ref.copy(
      { buf: buf2, dtype: 'float32', shape: [10], strides: [1], offset: 2 },
      { buf: buf2, dtype: 'float32', shape: [10], strides: [1], offset: 0 },
    );
    assert.deepEqual(buf, buf2);
    // Permuted and flipped views: attention's head split and merge ([N, L, H, D] ↔ [N, H, L, D]), a batch of
    // transposes large enough for the tiled path (with ragged tiles), and a flip.
    for (const dtype of FLOATS)
      for (const { stored, perm } of [
        { stored: [2, 3, 5, 17], perm: [0, 2, 1, 3] },
        { stored: [2, 5, 3, 17], perm: [0, 2, 1, 3] },
        { stored: [3, 20, 37], perm: [0, 2, 1] },
        { stored: [37, 20], perm: [1, 0] },
        { stored: [4, 2, 18, 16], perm: [3, 1, 0, 2] },
      ]) {
        const base = makeView(dtype, stored, 'contig');
        const x = { ...base, shape: perm.map((d) => stored[d]), strides: perm.map((d) => base.strides[d]) };
        const [o1, o2] = outPair(dtype, x.shape);
        fast.copy(o1, x);
        ref.copy(o2, x);
        assertSame(o1, o2, `copy ${dtype} [${stored}] permuted ${perm}`);
        const last = x.shape.length - 1;
        const flipped = {
          ...x,
          offset: x.offset + (x.shape[last] - 1) * x.strides[last],
          strides: x.strides.map((s, i) => (i === last ? -s : s)),
        };
        fast.copy(o1, flipped);
        ref.copy(o2, flipped);
        assertSame(o1, o2, `copy ${dtype} [${stored}] permuted ${perm}, last dim flipped`);
      }
  });

  test('reduce over leading, trailing, middle and all dims', () => {
    const shapes: number[][] = [[0, 5], [1], [7], [129], [1023], [3, 43], [31, 33], [2, 3, 4, 5], [4, 1, 6]];
    for (const op of ['sum', 'prod', 'amax', 'amin'] as const)
      for (const dtype of [...FLOATS, 'int32' as const, 'int64' as const])
        for (const shape of shapes) {
          const nd = shape.length;
          // Every subset of dims as the reduced set (the empty one too).
          for (let mask = 0; mask < 1 << nd; mask++) {
            const outShape = shape.map((d, i) => (mask & (1 << i) ? 1 : d));
            // Strided and broadcast (row) inputs take the strided path, whose loop order differs from x's.
            for (const layout of ['contig', 'transposed', 'strided', 'row'] as Layout[]) {
              const x = makeView(dtype, shape, layout);
              if (op === 'prod' && dtype !== 'int32' && dtype !== 'int64') {
                // Keep products of up to 1023 factors finite and away from 0.
                const b = x.buf as TypedArray;
                for (let i = 0; i < b.length; i++) if (Number.isFinite(b[i]) && b[i] !== 0) b[i] = 1 + b[i] / 64;
              }
              // Integer sums and products land in int64 as sum and prod give them, or in int32 when asked for
              // (its wrapping store); the extremes keep the input's dtype.
              const integer = (dtype === 'int32' || dtype === 'int64') && op !== 'amax' && op !== 'amin';
              for (const outDtype of integer ? (['int64', 'int32'] as const) : [dtype]) {
                const [o1, o2] = outPair(outDtype, outShape);
                fast.reduce(op, o1, x);
                ref.reduce(op, o2, x);
                assertSame(o1, o2, `${op} ${dtype} [${shape}] → [${outShape}] ${outDtype} ${layout}`);
              }
            }
          }
        }
  });

  test('reduce of permuted and flipped views (a transposed cotangent summed to a bias)', () => {
    for (const op of ['sum', 'prod', 'amax', 'amin'] as const)
      for (const dtype of FLOATS)
        for (const { stored, perm } of [
          { stored: [3, 6, 5], perm: [0, 2, 1] },
          { stored: [2, 3, 5, 7], perm: [0, 2, 1, 3] },
          { stored: [4, 3, 6], perm: [2, 0, 1] },
        ]) {
          const base = makeView(dtype, stored, 'contig');
          const shape = perm.map((d) => stored[d]);
          const strides = perm.map((d) => base.strides[d]);
          const flipped = strides.map((s, i) => (i === 1 ? -s : s));
          for (const x of [
            { ...base, shape, strides },
            { ...base, shape, strides: flipped, offset: base.offset + (shape[1] - 1) * strides[1] },
          ])
            for (let mask = 0; mask < 1 << shape.length; mask++) {
              const outShape = shape.map((d, i) => (mask & (1 << i) ? 1 : d));
              const [o1, o2] = outPair(dtype, outShape);
              fast.reduce(op, o1, x);
              ref.reduce(op, o2, x);
              assertSame(o1, o2, `${op} ${dtype} [${stored}] permuted ${perm} (strides ${x.strides}) → [${outShape}]`);
            }
        }
  });

  test('softmax, logSoftmax and argmax/argmin along each dim', () => {
    const shapes: number[][] = [[1], [7], [129], [1023], [3, 43], [31, 33], [2, 3, 4, 5]];
    for (const dtype of FLOATS)
      for (const shape of shapes)
        for (let dim = 0; dim < shape.length; dim++)
          for (const layout of ['contig', 'transposed'] as Layout[]) {
            const x = makeView(dtype, shape, layout);
            for (const op of ['softmax', 'logSoftmax'] as const) {
              const [o1, o2] = outPair(dtype, shape);
              fast.softmax(op, o1, x, dim);
              ref.softmax(op, o2, x, dim);
              assertSame(o1, o2, `${op} ${dtype} [${shape}] dim ${dim} ${layout}`);
            }
            // softmax's VJP: g and y contiguous or transposed, so both the fused loop and its fallback run.
            const y = makeView(dtype, shape, 'contig');
            const [o1, o2] = outPair(dtype, shape);
            fast.softmaxBackward(o1, x, y, dim);
            ref.softmaxBackward(o2, x, y, dim);
            assertSame(o1, o2, `softmaxBackward ${dtype} [${shape}] dim ${dim} ${layout}`);
            const outShape = shape.map((d, i) => (i === dim ? 1 : d));
            for (const op of ['argmax', 'argmin'] as const) {
              const [o1, o2] = outPair('int32', outShape);
              fast.argReduce(op, o1, x, dim);
              ref.argReduce(op, o2, x, dim);
              assertSame(o1, o2, `${op} ${dtype} [${shape}] dim ${dim} ${layout}`);
            }
          }
    // Lines of all −Infinity and lines holding NaN or +Infinity.
    for (const dtype of FLOATS)
      for (const line of [
        [-Infinity, -Infinity, -Infinity],
        [1, Number.NaN, 2],
        [Infinity, 1, 2],
        [Infinity, Infinity, 0],
      ]) {
        const x: View = { buf: new DTYPES[dtype].array(line), dtype, shape: [1, 3], strides: [3, 1], offset: 0 };
        for (const op of ['softmax', 'logSoftmax'] as const) {
          const [o1, o2] = outPair(dtype, [1, 3]);
          fast.softmax(op, o1, x, 1);
          ref.softmax(op, o2, x, 1);
          assertSame(o1, o2, `${op} ${dtype} [${line}]`);
        }
      }
  });
});
