/**
 * @file WebAssembly SIMD for the four arithmetic binary ops (add, sub, mul, div) on large same-dtype float operands,
 * each contiguous or a broadcast scalar (or the right one a broadcast row, a bias), and for relu, neg and abs: the
 * elementwise work of an optimizer step, of activations and of most backward passes. Also the memory-bound loops of
 * a CNN step: col2im's scatter-add of whole rows (simdAddRuns) and the 2×2 / stride-2 max pool with its backward.
 * Operands are staged into a private wasm memory and the result copied out; measured on this machine kind that is
 * still ~4× faster than V8's loop over TypedArrays (≈2.4 ns/element) from 16K elements up. Exact: IEEE add, sub,
 * mul and div of two float32s rounded once equal the float64 result rounded to float32, which is what the
 * reference kernels store, so results are bit-identical to theirs (max, neg and abs are exact anyway).
 */
import { isContiguous as isDense, numel } from '../../core/shape.js';
import type { View } from '../backend.js';
import { isConstant } from '../js/index.js';
import { type Code, type Local, type ModuleBuilder, privateModule } from './asm.js';

const OPS = ['add', 'sub', 'mul', 'div'] as const;
const UNARY_OPS = ['relu', 'neg', 'abs'] as const;
const COMPARISONS = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const;
type Kind = 'vv' | 'vs' | 'sv';
type F = 'f32' | 'f64';

/** Below this many elements the staging costs more than the SIMD saves; the JS loops run instead. */
export const SIMD_MIN = 16384;

/** The byte bounds of an n-element loop: `vend` where whole vectors stop, `end` where the scalar tail stops. */
function loopBounds(c: Code, n: Local, size: number): { i: Local; vend: Local; end: Local } {
  const [i, vend, end] = [c.local('i32'), c.local('i32'), c.local('i32')];
  c.get(n).i32(size).op('i32.mul').set(end);
  c.get(n)
    .i32(~(16 / size - 1))
    .op('i32.and')
    .i32(size)
    .op('i32.mul')
    .set(vend);
  return { i, vend, end };
}

function build(mod: ModuleBuilder): void {
  for (const t of ['f32', 'f64'] as F[])
    for (const op of OPS)
      for (const kind of ['vv', 'vs', 'sv'] as Kind[]) {
        const size = t === 'f32' ? 4 : 8;
        const V = t === 'f32' ? 'f32x4' : 'f64x2';
        const splat = t === 'f32' ? 'load32Splat' : 'load64Splat';
        const load = t === 'f32' ? 'f32.load' : 'f64.load';
        const store = t === 'f32' ? 'f32.store' : 'f64.store';
        mod.fn(`${op}_${kind}_${t}`, ['i32', 'i32', 'i32', 'i32'], [], (c: Code) => {
          const [a, b, o, n] = [0, 1, 2, 3].map((i) => c.param(i));
          const { i, vend, end } = loopBounds(c, n, size);
          const va = c.local('v128');
          const vb = c.local('v128');
          const sa = c.local(t);
          const sb = c.local(t);
          // A broadcast scalar is loaded once, splatted for the vector loop.
          if (kind === 'vs') c.get(b).vmem(splat).set(vb).get(b).mem(load).set(sb);
          if (kind === 'sv') c.get(a).vmem(splat).set(va).get(a).mem(load).set(sa);
          const vec = (c: Code) => {
            c.get(o).get(i).op('i32.add');
            if (kind === 'sv') c.get(va);
            else c.get(a).get(i).op('i32.add').vmem('load');
            if (kind === 'vs') c.get(vb);
            else c.get(b).get(i).op('i32.add').vmem('load');
            c.simd(`${V}.${op}`).vmem('store');
          };
          const scalar = (c: Code) => {
            c.get(o).get(i).op('i32.add');
            if (kind === 'sv') c.get(sa);
            else c.get(a).get(i).op('i32.add').mem(load);
            if (kind === 'vs') c.get(sb);
            else c.get(b).get(i).op('i32.add').mem(load);
            c.op(`${t}.${op}`).mem(store);
          };
          c.for(i, (c) => c.i32(0), vend, 16, vec);
          c.for(i, (c) => c.get(vend), end, size, scalar);
        });
      }
  // Unary: relu as max(x, 0) (NaN-propagating, −0 → +0, exactly Math.max(x, 0)), neg, abs.
  for (const t of ['f32', 'f64'] as F[])
    for (const op of UNARY_OPS) {
      const size = t === 'f32' ? 4 : 8;
      const V = t === 'f32' ? 'f32x4' : 'f64x2';
      const load = t === 'f32' ? 'f32.load' : 'f64.load';
      const store = t === 'f32' ? 'f32.store' : 'f64.store';
      mod.fn(`${op}_${t}`, ['i32', 'i32', 'i32', 'i32'], [], (c: Code) => {
        const [a, , o, n] = [0, 1, 2, 3].map((i) => c.param(i));
        const { i, vend, end } = loopBounds(c, n, size);
        const zero = c.local('v128');
        if (t === 'f32') c.f32(0).simd('f32x4.splat').set(zero);
        else c.f64(0).simd('f64x2.splat').set(zero);
        c.for(
          i,
          (c) => c.i32(0),
          vend,
          16,
          (c) => {
            c.get(o).get(i).op('i32.add').get(a).get(i).op('i32.add').vmem('load');
            if (op === 'relu') c.get(zero).simd(`${V}.max`);
            else c.simd(`${V}.${op}`);
            c.vmem('store');
          },
        );
        c.for(
          i,
          (c) => c.get(vend),
          end,
          size,
          (c) => {
            c.get(o).get(i).op('i32.add').get(a).get(i).op('i32.add').mem(load);
            if (op === 'relu') {
              if (t === 'f32') c.f32(0);
              else c.f64(0);
              c.op(`${t}.max`);
            } else c.op(`${t}.${op}`);
            c.mem(store);
          },
        );
      });
    }
  // cmp_vs_f32: o = (a[i] cmp c) as bool bytes, 16 lanes a step: four compares narrowed to one vector of 0/1.
  for (const cmp of COMPARISONS)
    mod.fn(`${cmp}_vs_f32`, ['i32', 'i32', 'i32', 'i32'], [], (c: Code) => {
      const [a, b, o, n] = [0, 1, 2, 3].map((i) => c.param(i));
      const [i, j, vend] = [c.local('i32'), c.local('i32'), c.local('i32')];
      const vb = c.local('v128');
      const one = c.local('v128');
      const sb = c.local('f32');
      c.get(b).vmem('load32Splat').set(vb).get(b).mem('f32.load').set(sb);
      c.i32(1).simd('i8x16.splat').set(one);
      c.get(n).i32(~15).op('i32.and').set(vend);
      const lanes = (k: number) =>
        c
          .get(a)
          .get(i)
          .i32(4)
          .op('i32.mul')
          .op('i32.add')
          .vmem('load', k * 16)
          .get(vb)
          .simd(`f32x4.${cmp}`);
      c.for(
        i,
        (c) => c.i32(0),
        vend,
        16,
        (c) => {
          c.get(o).get(i).op('i32.add');
          lanes(0);
          lanes(1);
          c.simd('i16x8.narrow_i32x4_s');
          lanes(2);
          lanes(3);
          c.simd('i16x8.narrow_i32x4_s').simd('i8x16.narrow_i16x8_s').get(one).simd('v128.and').vmem('store');
        },
      );
      c.for(
        j,
        (c) => c.get(vend),
        n,
        1,
        (c) =>
          c
            .get(o)
            .get(j)
            .op('i32.add')
            .get(a)
            .get(j)
            .i32(4)
            .op('i32.mul')
            .op('i32.add')
            .mem('f32.load')
            .get(sb)
            .op(`f32.${cmp}`)
            .mem('i32.store8'),
      );
    });
  // mulMask_f32: o = a · float(mask), a float32, mask bool bytes (ReLU's backward: g · 1[x > 0]).
  mod.fn('mulMask_f32', ['i32', 'i32', 'i32', 'i32'], [], (c: Code) => {
    const [a, m, o, n] = [0, 1, 2, 3].map((i) => c.param(i));
    const { i, vend, end } = loopBounds(c, n, 4);
    const j = c.local('i32');
    c.i32(0).set(j);
    c.for(
      i,
      (c) => c.i32(0),
      vend,
      16,
      (c) => {
        c.get(o).get(i).op('i32.add');
        c.get(a).get(i).op('i32.add').vmem('load');
        c.get(m)
          .get(j)
          .op('i32.add')
          .vmem('load32Zero')
          .simd('i16x8.extend_low_i8x16_u')
          .simd('i32x4.extend_low_i16x8_u')
          .simd('f32x4.convert_i32x4_u')
          .simd('f32x4.mul')
          .vmem('store');
        c.get(j).i32(4).op('i32.add').set(j);
      },
    );
    c.for(
      i,
      (c) => c.get(vend),
      end,
      4,
      (c) => {
        c.get(o).get(i).op('i32.add');
        c.get(a).get(i).op('i32.add').mem('f32.load');
        c.get(m).get(j).op('i32.add').mem('i32.load8_u').op('f32.convert_i32_u').op('f32.mul').mem('f32.store');
        c.get(j).i32(1).op('i32.add').set(j);
      },
    );
  });
  // addScaled: o = a + (splat(alpha) · b), the product rounded in the vector type, as mul then add.
  for (const t of ['f32', 'f64'] as F[]) {
    const size = t === 'f32' ? 4 : 8;
    const V = t === 'f32' ? 'f32x4' : 'f64x2';
    const load = t === 'f32' ? 'f32.load' : 'f64.load';
    const store = t === 'f32' ? 'f32.store' : 'f64.store';
    mod.fn(`addScaled_${t}`, ['i32', 'i32', 'i32', 'i32', t], [], (c: Code) => {
      const [a, b, o, n, alpha] = [0, 1, 2, 3, 4].map((i) => c.param(i));
      const { i, vend, end } = loopBounds(c, n, size);
      const va = c.local('v128');
      c.get(alpha).simd(`${V}.splat`).set(va);
      c.for(
        i,
        (c) => c.i32(0),
        vend,
        16,
        (c) =>
          c
            .get(o)
            .get(i)
            .op('i32.add')
            .get(a)
            .get(i)
            .op('i32.add')
            .vmem('load')
            .get(va)
            .get(b)
            .get(i)
            .op('i32.add')
            .vmem('load')
            .simd(`${V}.mul`)
            .simd(`${V}.add`)
            .vmem('store'),
      );
      c.for(
        i,
        (c) => c.get(vend),
        end,
        size,
        (c) =>
          c
            .get(o)
            .get(i)
            .op('i32.add')
            .get(a)
            .get(i)
            .op('i32.add')
            .mem(load)
            .get(alpha)
            .get(b)
            .get(i)
            .op('i32.add')
            .mem(load)
            .op(`${t}.mul`)
            .op(`${t}.add`)
            .mem(store),
      );
    });
  }
  // The 2×2, stride-2 max pool over `planes` float32 planes of H×W into OH×OW (2·OH ≤ H, 2·OW ≤ W), four windows
  // a step. x[2j..2j+7] of a row pair split into even and odd columns gives each window's four taps; the winner is
  // the scalar kernel's tournament, (0, 1) and (2, 3) then their winners, the later one taken when greater or NaN,
  // so the values and int32 indices (h·W + w) are the reference scan's. The last step of a row may run past OW: its
  // extra lanes read at most 6 floats past the row and write at most 3 slots past it, which the next row (or the
  // staging pad) then overwrites.
  /**
   * The two pool kernels' loops: for p < planes, for i < OH, body, with `row` = base + 4·(p·H + 2i)·W (the byte
   * address of input row 2i of plane p) and `win` = 4·(p·OH + i)·OW (the byte offset of output row i).
   */
  const poolRows = (
    c: Code,
    [base, planes, H, W, OH, OW]: Local[],
    [p, i, row, win]: Local[],
    body: (c: Code) => void,
  ) =>
    c.for(
      p,
      (c) => c.i32(0),
      planes,
      1,
      (c) =>
        c.for(
          i,
          (c) => c.i32(0),
          OH,
          1,
          (c) => {
            c.get(base).get(p).get(H).op('i32.mul').get(i).i32(2).op('i32.mul').op('i32.add').get(W).op('i32.mul');
            c.i32(4).op('i32.mul').op('i32.add').set(row);
            c.get(p).get(OH).op('i32.mul').get(i).op('i32.add').get(OW).op('i32.mul').i32(4).op('i32.mul').set(win);
            body(c);
          },
        ),
    );
  const EVEN = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];
  const ODD = EVEN.map((b) => b + 4);
  mod.fn('maxPool2x2_f32', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], [], (c: Code) => {
    const [x, o, ix, planes, H, W, OH, OW] = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => c.param(i));
    const [p, i, j, r0, r1, orow, irow, addr] = Array.from({ length: 8 }, () => c.local('i32'));
    const [x0, x1, x2, x3, ca, cb, cc, va, vb, tv, lane] = Array.from({ length: 11 }, () => c.local('v128'));
    c.i32x4([0, 2, 4, 6]).set(lane);
    poolRows(c, [x, planes, H, W, OH, OW], [p, i, r0, addr], (c) => {
      c.get(r0).get(W).i32(4).op('i32.mul').op('i32.add').set(r1);
      c.get(o).get(addr).op('i32.add').set(orow);
      c.get(ix).get(addr).op('i32.add').set(irow);
      c.for(
        j,
        (c) => c.i32(0),
        OW,
        4,
        (c) => {
          for (const [row, lanes, to] of [
            [r0, EVEN, x0],
            [r0, ODD, x1],
            [r1, EVEN, x2],
            [r1, ODD, x3],
          ] as [Local, number[], Local][]) {
            c.get(row).get(j).i32(8).op('i32.mul').op('i32.add').set(addr);
            c.get(addr).vmem('load').get(addr).vmem('load', 16).shuffle(lanes).set(to);
          }
          // tv: each window's first tap, 2i·W + 2j + (0, 2, 4, 6).
          c.get(i).get(W).op('i32.mul').get(j).op('i32.add').i32(2).op('i32.mul').simd('i32x4.splat');
          c.get(lane).simd('i32x4.add').set(tv);
          const pick = (a: Local, b: Local, m: Local) =>
            c.get(b).get(a).simd('f32x4.gt').get(b).get(b).simd('f32x4.ne').simd('v128.or').set(m);
          pick(x0, x1, ca);
          pick(x2, x3, cb);
          c.get(x1).get(x0).get(ca).simd('v128.bitselect').set(va);
          c.get(x3).get(x2).get(cb).simd('v128.bitselect').set(vb);
          pick(va, vb, cc);
          c.get(orow).get(j).i32(4).op('i32.mul').op('i32.add');
          c.get(vb).get(va).get(cc).simd('v128.bitselect').vmem('store');
          // Indices: a true mask lane is −1, so tap − mask is the odd tap where the later one won.
          c.get(irow).get(j).i32(4).op('i32.mul').op('i32.add');
          c.get(tv).get(W).simd('i32x4.splat').simd('i32x4.add').get(cb).simd('i32x4.sub');
          c.get(tv).get(ca).simd('i32x4.sub');
          c.get(cc).simd('v128.bitselect').vmem('store');
        },
      );
    });
  });
  // Its backward: dx over the same planes from dy and the indices, each window's four taps written once (the
  // winner dy + 0, the rest +0: the reference's zero fill then scatter-add, +0 + g, bit for bit), so dx must be
  // zero beforehand only where no window reaches (an odd last row or column). Columns run from the last step to
  // the first, so the extra lanes of a row's last step, masked to +0, land on slots written after them.
  mod.fn('maxPool2x2Backward_f32', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], [], (c: Code) => {
    const [dx, dy, ix, planes, H, W, OH, OW] = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => c.param(i));
    const [p, i, k, j, jLast, r0, at, addr] = Array.from({ length: 8 }, () => c.local('i32'));
    const [g, idx, tv, lane, col, zero, e0, e1] = Array.from({ length: 8 }, () => c.local('v128'));
    c.i32x4([0, 2, 4, 6]).set(lane);
    c.i32x4([0, 1, 2, 3]).set(col);
    c.f32(0).simd('f32x4.splat').set(zero);
    c.get(OW).i32(3).op('i32.add').i32(~3).op('i32.and').i32(4).op('i32.sub').set(jLast);
    poolRows(c, [dx, planes, H, W, OH, OW], [p, i, r0, at], (c) =>
      c.for(
        k,
        (c) => c.i32(0),
        OW,
        4,
        (c) => {
          c.get(jLast).get(k).op('i32.sub').set(j);
          c.get(at).get(j).i32(4).op('i32.mul').op('i32.add').set(addr);
          // Lanes past OW get dy = 0, so they write +0 wherever they land.
          c.get(dy).get(addr).op('i32.add').vmem('load');
          c.get(j).simd('i32x4.splat').get(col).simd('i32x4.add').get(OW).simd('i32x4.splat');
          c.simd('i32x4.lt_s').simd('v128.and').set(g);
          c.get(ix).get(addr).op('i32.add').vmem('load').set(idx);
          c.get(i).get(W).op('i32.mul').get(j).op('i32.add').i32(2).op('i32.mul').simd('i32x4.splat');
          c.get(lane).simd('i32x4.add').set(tv);
          for (const dr of [0, 1]) {
            // Row 2i + dr: the even taps' values e0, the odd ones' e1, interleaved into 8 columns.
            for (const [dc, to] of [
              [0, e0],
              [1, e1],
            ] as [number, Local][]) {
              c.get(zero).get(g).get(idx).get(tv);
              if (dr) c.get(W).simd('i32x4.splat').simd('i32x4.add');
              if (dc) c.i32(1).simd('i32x4.splat').simd('i32x4.add');
              c.simd('i32x4.eq').simd('v128.and').simd('f32x4.add').set(to);
            }
            c.get(r0).get(j).i32(8).op('i32.mul').op('i32.add');
            if (dr) c.get(W).i32(4).op('i32.mul').op('i32.add');
            c.set(addr);
            c.get(addr).get(e0).get(e1).shuffle([0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23]);
            c.vmem('store');
            c.get(addr).get(e0).get(e1).shuffle([8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31]);
            c.vmem('store', 16);
          }
        },
      ),
    );
  });
}

const kernels = privateModule(build);

/** Contiguous and n elements long (every input is viewed at out's shape, so this is out's size). */
function isContiguous(v: View, n: number): boolean {
  return isDense(v.shape, v.strides) && numel(v.shape) === n;
}

/**
 * out = x op y with SIMD when it applies (a large same-dtype float op, each operand contiguous or a broadcast
 * scalar, out contiguous); returns false, having done nothing, otherwise.
 */
export function simdBinary(name: string, out: View, x: View, y: View, n: number): boolean {
  if (n < SIMD_MIN) return false;
  const dtype = out.dtype;
  if (dtype === 'bool') return compareScalar(name, out, x, y, n);
  if (name !== 'add' && name !== 'sub' && name !== 'mul' && name !== 'div') return false;
  if (name === 'mul' && dtype === 'float32' && (x.dtype === 'bool') !== (y.dtype === 'bool'))
    return mulMask(out, x.dtype === 'bool' ? y : x, x.dtype === 'bool' ? x : y, n);
  if ((dtype !== 'float32' && dtype !== 'float64') || x.dtype !== dtype || y.dtype !== dtype) return false;
  const xs = isConstant(x);
  const ys = isConstant(y);
  if (!xs && !ys && isContiguous(x, n) && isContiguous(out, n)) {
    const m = rowLength(y, n);
    if (m > 0) return rowBroadcast(name, out, x, y, n, m);
  }
  if ((!xs && !isContiguous(x, n)) || (!ys && !isContiguous(y, n)) || (xs && ys) || !isContiguous(out, n)) return false;
  const size = dtype === 'float32' ? 4 : 8;
  const bytes = n * size;
  const aAt = 64;
  const bAt = aAt + Math.ceil((xs ? size : bytes) / 64) * 64;
  const heap = staging(bAt + (ys ? size : bytes));
  if (!heap) return false;
  const Arr = dtype === 'float32' ? Float32Array : Float64Array;
  const src = (v: View, scalar: boolean) => {
    const a = v.buf as Float32Array | Float64Array;
    return scalar ? a.subarray(v.offset, v.offset + 1) : a.subarray(v.offset, v.offset + n);
  };
  new Arr(heap, aAt, xs ? 1 : n).set(src(x, xs));
  new Arr(heap, bAt, ys ? 1 : n).set(src(y, ys));
  // The result overwrites the contiguous operand's staging area.
  const oAt = xs ? bAt : aAt;
  kernels.fns[`${name}_${xs ? 'sv' : ys ? 'vs' : 'vv'}_${dtype === 'float32' ? 'f32' : 'f64'}`](aAt, bAt, oAt, n);
  (out.buf as Float32Array | Float64Array).set(new Arr(heap, oAt, n), out.offset);
  return true;
}

/** out = x + alpha·y (the addScaled kernel) with SIMD when it applies: large, one float dtype, all contiguous. */
export function simdAddScaled(out: View, x: View, y: View, alpha: number, n: number): boolean {
  const dtype = out.dtype;
  if (n < SIMD_MIN || (dtype !== 'float32' && dtype !== 'float64') || x.dtype !== dtype || y.dtype !== dtype)
    return false;
  if (!isContiguous(x, n) || !isContiguous(y, n) || !isContiguous(out, n)) return false;
  const size = dtype === 'float32' ? 4 : 8;
  const aAt = 64;
  const bAt = aAt + Math.ceil((n * size) / 64) * 64;
  const heap = staging(bAt + n * size);
  if (!heap) return false;
  const Arr = dtype === 'float32' ? Float32Array : Float64Array;
  new Arr(heap, aAt, n).set((x.buf as Float32Array | Float64Array).subarray(x.offset, x.offset + n));
  new Arr(heap, bAt, n).set((y.buf as Float32Array | Float64Array).subarray(y.offset, y.offset + n));
  kernels.fns[`addScaled_${dtype === 'float32' ? 'f32' : 'f64'}`](aAt, bAt, aAt, n, alpha);
  (out.buf as Float32Array | Float64Array).set(new Arr(heap, aAt, n), out.offset);
  return true;
}

/** out = x cmp c (a bool tensor) for a contiguous float32 x and a float32 scalar c: ReLU's mask, x > 0. */
function compareScalar(name: string, out: View, x: View, y: View, n: number): boolean {
  if (!(COMPARISONS as readonly string[]).includes(name) || x.dtype !== 'float32' || y.dtype !== 'float32')
    return false;
  if (!isContiguous(x, n) || !isConstant(y) || !isContiguous(out, n)) return false;
  const aAt = 64;
  const bAt = aAt + Math.ceil((n * 4) / 64) * 64;
  const oAt = bAt + 64;
  const heap = staging(oAt + n + 16);
  if (!heap) return false;
  new Float32Array(heap, aAt, n).set((x.buf as Float32Array).subarray(x.offset, x.offset + n));
  new Float32Array(heap, bAt, 1)[0] = (y.buf as Float32Array)[y.offset];
  kernels.fns[`${name}_vs_f32`](aAt, bAt, oAt, n);
  (out.buf as Uint8Array).set(new Uint8Array(heap, oAt, n), out.offset);
  return true;
}

/** out = a · mask for a float32 a and a bool mask, both contiguous (the product's dtype is a's). */
function mulMask(out: View, a: View, mask: View, n: number): boolean {
  if (a.dtype !== 'float32' || !isContiguous(a, n) || !isContiguous(mask, n) || !isContiguous(out, n)) return false;
  const aAt = 64;
  const mAt = aAt + Math.ceil((n * 4) / 64) * 64;
  const heap = staging(mAt + n + 16);
  if (!heap) return false;
  new Float32Array(heap, aAt, n).set((a.buf as Float32Array).subarray(a.offset, a.offset + n));
  new Uint8Array(heap, mAt, n).set((mask.buf as Uint8Array).subarray(mask.offset, mask.offset + n));
  kernels.fns.mulMask_f32(aAt, mAt, aAt, n);
  (out.buf as Float32Array).set(new Float32Array(heap, aAt, n), out.offset);
  return true;
}

/**
 * The length m of the row y repeats when y is a contiguous row broadcast over leading dims (a bias [m] under
 * [rows, m]: stride 0 on the leading dims, contiguous trailing dims), else 0.
 */
function rowLength(v: View, n: number): number {
  let m = 1;
  let i = v.shape.length - 1;
  for (; i >= 0 && (v.shape[i] === 1 || v.strides[i] === m); i--) m *= v.shape[i];
  for (; i >= 0; i--) if (v.shape[i] !== 1 && v.strides[i] !== 0) return 0;
  return m > 1 && m < n && n % m === 0 ? m : 0;
}

/** out = x op row for every row of x: x staged once, the row once, the vector loop run row by row. */
function rowBroadcast(name: string, out: View, x: View, y: View, n: number, m: number): boolean {
  const size = out.dtype === 'float32' ? 4 : 8;
  const aAt = 64;
  const bAt = aAt + Math.ceil((n * size) / 64) * 64;
  const heap = staging(bAt + m * size);
  if (!heap) return false;
  const Arr = out.dtype === 'float32' ? Float32Array : Float64Array;
  new Arr(heap, aAt, n).set((x.buf as Float32Array | Float64Array).subarray(x.offset, x.offset + n));
  new Arr(heap, bAt, m).set((y.buf as Float32Array | Float64Array).subarray(y.offset, y.offset + m));
  const fn = kernels.fns[`${name}_vv_${out.dtype === 'float32' ? 'f32' : 'f64'}`];
  for (let r = 0; r < n; r += m) fn(aAt + r * size, bAt, aAt + r * size, m);
  (out.buf as Float32Array | Float64Array).set(new Arr(heap, aAt, n), out.offset);
  return true;
}

/** out = relu / neg / abs of x with SIMD when it applies (large, float, x and out contiguous); else false. */
export function simdUnary(name: string, out: View, x: View, n: number): boolean {
  if (n < SIMD_MIN || (name !== 'relu' && name !== 'neg' && name !== 'abs')) return false;
  const dtype = out.dtype;
  if ((dtype !== 'float32' && dtype !== 'float64') || x.dtype !== dtype) return false;
  if (!isContiguous(x, n) || !isContiguous(out, n)) return false;
  const heap = staging(64 + n * (dtype === 'float32' ? 4 : 8));
  if (!heap) return false;
  const Arr = dtype === 'float32' ? Float32Array : Float64Array;
  new Arr(heap, 64, n).set((x.buf as Float32Array | Float64Array).subarray(x.offset, x.offset + n));
  kernels.fns[`${name}_${dtype === 'float32' ? 'f32' : 'f64'}`](64, 0, 64, n);
  (out.buf as Float32Array | Float64Array).set(new Arr(heap, 64, n), out.offset);
  return true;
}

/**
 * dst[dstAt + d + e] += src[srcAt + s + e] for e < n, for each run (d, s, n) of `runs` (flat triples, offsets into
 * the two regions), with SIMD: dst[dstAt, dstAt + dstLen) and src[srcAt, srcAt + srcLen) are staged once, each run
 * added by the vector loop, and dst's region copied back (col2im's scatter-add, whose runs are whole rows). The same
 * float dtype on both. Returns false, having done nothing, where the staging memory cannot be had or the regions
 * are too small for the staging to pay.
 */
export function simdAddRuns(
  dst: Float32Array | Float64Array,
  dstAt: number,
  dstLen: number,
  src: Float32Array | Float64Array,
  srcAt: number,
  srcLen: number,
  runs: Int32Array,
  nRuns: number,
): boolean {
  if (srcLen < SIMD_MIN || dst.constructor !== src.constructor) return false;
  const f32 = dst instanceof Float32Array;
  const size = f32 ? 4 : 8;
  const dAt = 64;
  const sAt = dAt + Math.ceil((dstLen * size) / 64) * 64;
  const heap = staging(sAt + srcLen * size);
  if (!heap) return false;
  const Arr = f32 ? Float32Array : Float64Array;
  new Arr(heap, dAt, dstLen).set(dst.subarray(dstAt, dstAt + dstLen));
  new Arr(heap, sAt, srcLen).set(src.subarray(srcAt, srcAt + srcLen));
  const add = kernels.fns[f32 ? 'add_vv_f32' : 'add_vv_f64'];
  for (let r = 0; r < 3 * nRuns; r += 3) {
    const d = dAt + runs[r] * size;
    add(d, sAt + runs[r + 1] * size, d, runs[r + 2]);
  }
  dst.set(new Arr(heap, dAt, dstLen), dstAt);
  return true;
}

/** Byte offset of the region after one of `bytes` at `at`, with `pad` bytes of slack, on a 64-byte boundary. */
const after = (at: number, bytes: number, pad: number) => at + Math.ceil((bytes + pad) / 64) * 64;

/**
 * The 2×2 / stride-2 max pool (values and int32 indices) of contiguous float32 planes with SIMD, when the
 * pooled planes are large enough for the staging to pay; false, having done nothing, otherwise. The caller has
 * checked the geometry: every window inside x, no padding or dilation (pool-kernels.ts).
 */
export function simdMaxPool2x2(out: View, indices: View, x: View): boolean {
  const [N, C, H, W] = x.shape;
  const [, , OH, OW] = out.shape;
  const nx = N * C * H * W;
  const no = N * C * OH * OW;
  if (nx < SIMD_MIN || x.dtype !== 'float32' || out.dtype !== 'float32') return false;
  const xAt = 64;
  const oAt = after(xAt, 4 * nx, 32);
  const iAt = after(oAt, 4 * no, 16);
  const heap = staging(iAt + 4 * no + 16);
  if (!heap) return false;
  new Float32Array(heap, xAt, nx).set((x.buf as Float32Array).subarray(x.offset, x.offset + nx));
  kernels.fns.maxPool2x2_f32(xAt, oAt, iAt, N * C, H, W, OH, OW);
  (out.buf as Float32Array).set(new Float32Array(heap, oAt, no), out.offset);
  (indices.buf as Int32Array).set(new Int32Array(heap, iAt, no), indices.offset);
  return true;
}

/**
 * Its backward: out (the input's shape) = the scatter of g to the indices, every operand contiguous, g float32,
 * indices int32 from simdMaxPool2x2 or the reference kernel; false, having done nothing, where it does not pay.
 */
export function simdMaxPool2x2Backward(out: View, g: View, indices: View): boolean {
  const [N, C, H, W] = out.shape;
  const [, , OH, OW] = g.shape;
  const nx = N * C * H * W;
  const no = N * C * OH * OW;
  if (nx < SIMD_MIN || g.dtype !== 'float32' || out.dtype !== 'float32' || indices.dtype !== 'int32') return false;
  const xAt = 64;
  const gAt = after(xAt, 4 * nx, 32);
  const iAt = after(gAt, 4 * no, 16);
  const heap = staging(iAt + 4 * no + 16);
  if (!heap) return false;
  new Float32Array(heap, xAt, nx).fill(0);
  new Float32Array(heap, gAt, no).set((g.buf as Float32Array).subarray(g.offset, g.offset + no));
  new Int32Array(heap, iAt, no).set((indices.buf as Int32Array).subarray(indices.offset, indices.offset + no));
  kernels.fns.maxPool2x2Backward_f32(xAt, gAt, iAt, N * C, H, W, OH, OW);
  (out.buf as Float32Array).set(new Float32Array(heap, xAt, nx), out.offset);
  return true;
}

/** The staging memory, at least `bytes` long (built on first use); null where it cannot be had. */
function staging(bytes: number): ArrayBuffer | null {
  return kernels.staging(bytes);
}
