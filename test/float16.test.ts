/**
 * @file safetensors' software half-precision conversion (toHalf, fromHalf) against the engine's own, where the engine
 * has Float16Array (Node 24; Node 22 behind --js-float16array; not Node 20): every one of the 65536 half bit
 * patterns decoded, and every half value, every midpoint between neighbours (a tie, which rounds to even) and the
 * doubles just either side of each midpoint encoded. adjoint never requires Float16Array; on the Node versions CI
 * runs, this makes the newest one check the conversion that all of them use.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromHalf, toHalf } from '../src/io/safetensors.js';

type F16Array = { [i: number]: number; readonly buffer: ArrayBuffer };
const Float16 = (globalThis as { Float16Array?: new (n: number) => F16Array }).Float16Array;
const skip = Float16 ? false : 'this engine has no Float16Array (Node 24 has; Node 22 under --js-float16array)';

/** The engine's half bits of v, and the value of half bits h. */
function native(): { bits(v: number): number; value(h: number): number } {
  const f = new Float16!(1);
  const u = new Uint16Array(f.buffer);
  return {
    bits: (v) => {
      f[0] = v;
      return u[0];
    },
    value: (h) => {
      u[0] = h;
      return f[0];
    },
  };
}

/** The next double above x (x finite and positive). */
function nextUp(x: number): number {
  const b = new Float64Array([x]);
  new BigUint64Array(b.buffer)[0] += 1n;
  return b[0];
}

test('fromHalf decodes every half bit pattern exactly as the engine does', { skip }, () => {
  const engine = native();
  const wrong: string[] = [];
  for (let h = 0; h < 0x10000; h++) {
    const ours = fromHalf(h);
    const theirs = engine.value(h);
    if (!Object.is(ours, theirs) && !(Number.isNaN(ours) && Number.isNaN(theirs)))
      wrong.push(`0x${h.toString(16)}: ${ours} ≠ ${theirs}`);
  }
  assert.deepEqual(wrong.slice(0, 10), []);
});

test('toHalf rounds every half, every tie between neighbours and the doubles beside each tie as the engine does', {
  skip,
}, () => {
  const engine = native();
  const wrong: string[] = [];
  const check = (v: number) => {
    const ours = toHalf(v);
    if (ours !== engine.bits(v)) wrong.push(`${v}: 0x${ours.toString(16)} ≠ 0x${engine.bits(v).toString(16)}`);
  };
  // Positive finite halves 0x0000..0x7bff, the step to the next (0x7c00 is infinity, whose tie is 65520), then the
  // same with the sign bit.
  for (let h = 0; h < 0x7c00; h++) {
    const lo = fromHalf(h);
    const hi = h === 0x7bff ? 65536 : fromHalf(h + 1);
    const mid = (lo + hi) / 2;
    for (const v of [lo, mid, nextUp(mid), mid - (nextUp(mid) - mid)]) {
      check(v);
      check(-v);
    }
  }
  for (const v of [65504, 65519.99, 65520, 1e6, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 2 ** -25])
    check(v);
  assert.deepEqual(wrong.slice(0, 10), []);
  // NaN: the engine's NaN bits are its own; toHalf always writes the canonical quiet NaN, 0x7e00.
  assert.equal(toHalf(Number.NaN), 0x7e00);
  assert.ok(Number.isNaN(engine.value(engine.bits(Number.NaN))));
});
