/**
 * @file The one seeded random generator (xoshiro128**) behind rand, randn, randint and dropout. Random numbers are
 * drawn here, on the host, and uploaded, so every backend sees the same stream for the same seed.
 */
import { checked, custom, int } from './args.js';

let s0 = 0;
let s1 = 0;
let s2 = 0;
let s3 = 0;
let spare: number | null = null;

function splitmix32(x: number): () => number {
  return () => {
    x = (x + 0x9e3779b9) | 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Seeds every random call that follows, like torch.manual_seed. */
function manualSeedFn(seed: number): void {
  const sm = splitmix32(Math.trunc(seed) | 0);
  s0 = sm();
  s1 = sm();
  s2 = sm();
  s3 = sm();
  spare = null;
}

/** The generator's state, for checkpoints: restore it with setRngState. */
function getRngStateFn(): number[] {
  return [s0, s1, s2, s3, spare ?? Number.NaN];
}
function setRngStateFn(state: readonly number[]): void {
  [s0, s1, s2, s3] = state;
  spare = Number.isNaN(state[4]) ? null : state[4];
}

/** What getRngState returns: four 32-bit words and the cached normal (NaN for none). */
const STATE = custom<number[]>(
  'a generator state from getRngState() (an array of 4 32-bit whole numbers and a number)',
  (v) =>
    Array.isArray(v) &&
    v.length === 5 &&
    v.slice(0, 4).every((w) => Number.isInteger(w) && w >= -(2 ** 31) && w < 2 ** 32) &&
    typeof v[4] === 'number',
);
/** Seeds every random call that follows, like torch.manual_seed (a whole number; its low 32 bits are used). */
export const manualSeed = checked('manualSeed', { args: { seed: int() } }, manualSeedFn);
export const getRngState = checked('getRngState', {}, getRngStateFn);
export const setRngState = checked('setRngState', { args: { state: STATE } }, setRngStateFn);

function nextU32(): number {
  const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
  const t = s1 << 9;
  s2 ^= s0;
  s3 ^= s1;
  s1 ^= s2;
  s0 ^= s3;
  s2 ^= t;
  s3 = rotl(s3, 11);
  return result;
}
function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Uniform in [0, 1) with 53 random bits. */
export function random(): number {
  const hi = nextU32() >>> 5;
  const lo = nextU32() >>> 6;
  return (hi * 67108864 + lo) / 9007199254740992;
}

/** Uniform in [0, 1) with 24 random bits: every value is a float32, so storing it never rounds up to 1. */
export function random24(): number {
  return (nextU32() >>> 8) / 16777216;
}

/** Standard normal by the Box–Muller transform (pairs, the second kept for the next call). */
export function randomNormal(): number {
  if (spare !== null) {
    const v = spare;
    spare = null;
    return v;
  }
  let u = 0;
  while (u === 0) u = random();
  const v = random();
  const r = Math.sqrt(-2 * Math.log(u));
  spare = r * Math.sin(2 * Math.PI * v);
  return r * Math.cos(2 * Math.PI * v);
}

/**
 * A random stream of its own (ad.data.Generator, PyTorch's torch.Generator): `draw(fn)` runs fn with the stream's
 * state as this module's, so ops that take a `generator` option draw through the functions above either way.
 */
export interface RandomStream {
  draw<T>(fn: () => T): T;
}

/** Runs fn drawing from `generator` when one is given, else from the global stream manualSeed seeds. */
export function drawFrom<T>(generator: RandomStream | null | undefined, fn: () => T): T {
  return generator ? generator.draw(fn) : fn();
}

/** Uniform integer in [low, high). */
export function randomInt(low: number, high: number): number {
  return low + Math.floor(random() * (high - low));
}

manualSeed(0);
