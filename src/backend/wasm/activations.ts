/**
 * @file WebAssembly SIMD for float32 kernels that were a model step's largest cost: the fused LSTM cell and its VJP
 * (lstmCell, lstmCellBackward: five transcendentals per element, twice per step, what kept nn.LSTM's step 4.7×
 * PyTorch's) and softmax along the last dim (attention's scores), with softmax's VJP y·(g − Σ g·y) beside it. The
 * exp, sigmoid and tanh are simd-math.ts's, within 1–2 ulp of the reference's correctly rounded values, and the
 * products and sums around them round as the reference kernels round them (line sums accumulated in float64, as the
 * reference's are), so the cell and softmax are within a few float32 ulp of the js reference's values, not
 * bit-identical; softmax's VJP has no transcendental and equals them. Only float32 with every operand contiguous and
 * the vector dim (H; softmax's line) a multiple of 4 takes this path, so rows fill whole vectors; the rest runs the
 * other kernels.
 */
import { isContiguous } from '../../core/shape.js';
import type { View } from '../backend.js';
import { type Code, type Local, type ModuleBuilder, privateModule } from './asm.js';
import { addWidened, exp, forLines, forVectors, hoist, sigmoid, splat, sumPair, tanh, vec } from './simd-math.js';

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

/**
 * softmax_f32(x, o, lines, len): softmax of each of `lines` contiguous lines of len floats (len a multiple of 4): the
 * line's max m (NaN if any is; 0 for an all −∞ line, as the reference), e = exp(x − m) stored, Σe in float64, then
 * o = e · (1/Σe).
 */
function defineSoftmax(mod: ModuleBuilder): void {
  mod.fn('softmax_f32', ['i32', 'i32', 'i32', 'i32'], [], (c) => {
    const [x, o, lines, len] = [0, 1, 2, 3].map((i) => c.param(i));
    hoist(c);
    const [delta, len4] = [c.local('i32'), c.local('i32')];
    const [vm, v, e, acc] = [vec(c), vec(c), vec(c), vec(c)];
    const m = c.local('f32');
    c.get(len).i32(4).op('i32.mul').set(len4);
    c.get(o).get(x).op('i32.sub').set(delta);
    forLines(c, x, lines, len4, (p, end) => {
      // The max, NaN-propagating (f32x4.max and f32.max both are).
      c.f32(Number.NEGATIVE_INFINITY).simd('f32x4.splat').set(vm);
      forVectors(c, p, end, (q) => c.get(vm).get(q).vmem('load').simd('f32x4.max').set(vm));
      c.get(vm).extract('f32x4.extract_lane', 0).get(vm).extract('f32x4.extract_lane', 1).op('f32.max');
      c.get(vm).extract('f32x4.extract_lane', 2).get(vm).extract('f32x4.extract_lane', 3).op('f32.max');
      c.op('f32.max').set(m);
      c.get(m).f32(0).get(m).f32(Number.NEGATIVE_INFINITY).op('f32.ne').op('select').simd('f32x4.splat').set(vm);
      // e = exp(x − m) into o; Σe in two float64 lanes.
      c.f64(0).simd('f64x2.splat').set(acc);
      forVectors(c, p, end, (q) => {
        c.get(q).vmem('load').get(vm).simd('f32x4.sub').set(v);
        exp(c, v, e);
        c.get(q).get(delta).op('i32.add').get(e).vmem('store');
        addWidened(c, acc, e);
      });
      c.f64(1);
      sumPair(c, acc).op('f64.div').op('f32.demote_f64').simd('f32x4.splat').set(vm);
      forVectors(c, p, end, (q) => {
        c.get(q).get(delta).op('i32.add');
        c.get(q).get(delta).op('i32.add').vmem('load').get(vm).simd('f32x4.mul').vmem('store');
      });
    });
  });
}

/**
 * softmaxBackward_f32(g, y, o, lines, len): o = y·(g − s) per line, s = Σ g·y with each product rounded to float32 and
 * summed in float64 (two lanes, then their sum), then rounded, as the reference rounds them.
 */
function defineSoftmaxBackward(mod: ModuleBuilder): void {
  mod.fn('softmaxBackward_f32', ['i32', 'i32', 'i32', 'i32', 'i32'], [], (c) => {
    const [g, y, o, lines, len] = [0, 1, 2, 3, 4].map((i) => c.param(i));
    const [len4, toY, toO] = [c.local('i32'), c.local('i32'), c.local('i32')];
    const [acc, prod, vs] = [vec(c), vec(c), vec(c)];
    c.get(len).i32(4).op('i32.mul').set(len4);
    c.get(y).get(g).op('i32.sub').set(toY);
    c.get(o).get(g).op('i32.sub').set(toO);
    forLines(c, g, lines, len4, (p, end) => {
      c.f64(0).simd('f64x2.splat').set(acc);
      forVectors(c, p, end, (q) => {
        c.get(q).vmem('load').get(q).get(toY).op('i32.add').vmem('load').simd('f32x4.mul').set(prod);
        addWidened(c, acc, prod);
      });
      sumPair(c, acc).op('f32.demote_f64').simd('f32x4.splat').set(vs);
      forVectors(c, p, end, (q) => {
        c.get(q).get(toO).op('i32.add');
        c.get(q).get(toY).op('i32.add').vmem('load');
        c.get(q).vmem('load').get(vs).simd('f32x4.sub').simd('f32x4.mul').vmem('store');
      });
    });
  });
}

const kernels = privateModule((mod) => {
  define(mod);
  defineSoftmax(mod);
  defineSoftmaxBackward(mod);
});

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

/**
 * softmax along the last dim of a contiguous float32 x in SIMD when it applies (its length a multiple of 4); false,
 * having done nothing, otherwise.
 */
export function simdSoftmax(out: View, x: View): boolean {
  const len = x.shape[x.shape.length - 1];
  const n = x.shape.reduce((a, b) => a * b, 1);
  if (x.shape.length === 0 || n === 0 || len % 4 !== 0) return false;
  if (![out, x].every((v) => v.dtype === 'float32' && isContiguous(v.shape, v.strides))) return false;
  const [xAt, oAt] = [64, 64 + 4 * n];
  const heap = kernels.staging(oAt + 4 * n);
  if (!heap) return false;
  new Float32Array(heap, xAt, n).set(slice(x, n));
  kernels.fns.softmax_f32(xAt, oAt, n / len, len);
  f32(out).set(new Float32Array(heap, oAt, n), out.offset);
  return true;
}

/**
 * softmaxBackward along the last dim of contiguous float32 g and y in SIMD when it applies (its length a multiple of
 * 4); false, having done nothing, otherwise.
 */
export function simdSoftmaxBackward(out: View, g: View, y: View): boolean {
  const len = y.shape[y.shape.length - 1];
  const n = y.shape.reduce((a, b) => a * b, 1);
  if (y.shape.length === 0 || n === 0 || len % 4 !== 0) return false;
  if (![out, g, y].every((v) => v.dtype === 'float32' && isContiguous(v.shape, v.strides))) return false;
  const [gAt, yAt, oAt] = [64, 64 + 4 * n, 64 + 8 * n];
  const heap = kernels.staging(oAt + 4 * n);
  if (!heap) return false;
  new Float32Array(heap, gAt, n).set(slice(g, n));
  new Float32Array(heap, yAt, n).set(slice(y, n));
  kernels.fns.softmaxBackward_f32(gAt, yAt, oAt, n / len, len);
  f32(out).set(new Float32Array(heap, oAt, n), out.offset);
  return true;
}
