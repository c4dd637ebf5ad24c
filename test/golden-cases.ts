/**
 * @file The golden cases: every op-table sample (contiguous variant) with its PyTorch expression, its seeded inputs
 * and a seeded cotangent for its output. scripts/golden-export.ts sends them to PyTorch and test/golden.test.ts
 * rebuilds them, so both go through this one definition of what a case's inputs are.
 */
import * as ad from '../src/index.js';
import { OP_TESTS, type OpTest, type Sample } from '../src/ops/registry.js';
import { makeArg } from './helpers.js';

export interface GoldenCase {
  /** `op/i` for samples[i], `op/singular/i` for singularSamples[i]: the fixture's key. */
  key: string;
  op: OpTest;
  sample: Sample;
  index: number;
  /** The sample's PyTorch expression: null where it declares none, undefined where it says nothing. */
  torch: string | null | undefined;
}

/** The expression a sample is checked against: its own, or the op's when the sample calls the op plainly. */
export function torchExpr(op: OpTest, s: Sample): string | null | undefined {
  if (s.torch !== undefined) return s.torch;
  return s.call ? undefined : op.torch;
}

export function goldenCases(): GoldenCase[] {
  return OP_TESTS.flatMap((op) => {
    const cases = (samples: Sample[] | undefined, prefix: string) =>
      (samples ?? []).map((sample, index) => ({
        key: `${op.name}/${prefix}${index}`,
        op,
        sample,
        index,
        torch: torchExpr(op, sample),
      }));
    return [...cases(op.samples, ''), ...cases(op.singularSamples, 'singular/')];
  });
}

/**
 * A seed from the key (FNV-1a), so a case's inputs do not depend on where its op sits in the table: adding an op
 * leaves every other fixture valid.
 */
export function seedOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export interface BuiltCase {
  /** The sample tensors; float ones require grad unless their spec says grad: false. */
  inputs: ad.Tensor[];
  out: ad.Tensor;
  /** Uniform in [-1, 1), the output's shape; null for outputs without gradients (ints, bools, ops marked so). */
  cotangent: ad.Tensor | null;
}

/** Runs a case's forward on its seeded inputs (the same generator as the op table: makeArg). */
export function buildCase(c: GoldenCase): BuiltCase {
  ad.manualSeed(seedOf(c.key));
  const inputs = c.sample.args.map((a) => makeArg(a));
  const out = c.sample.call ? c.sample.call(c.op.fn, ...inputs) : c.op.fn(...inputs);
  const float = out.dtype === 'float64' || out.dtype === 'float32';
  const cotangent =
    c.op.differentiable !== false && float ? ad.rand(out.shape, { dtype: 'float64' }).mul(2).sub(1) : null;
  return { inputs, out, cotangent };
}

/** A fingerprint of the inputs' shapes, dtypes and exact values, to tell a stale fixture from a wrong op. */
export function fingerprint(inputs: readonly ad.Tensor[]): string {
  let h = 0x811c9dc5;
  const mix = (byte: number) => {
    h = Math.imul(h ^ byte, 0x01000193);
  };
  for (const t of inputs) {
    for (const ch of `${t.dtype}${JSON.stringify(t.shape)}`) mix(ch.charCodeAt(0));
    const bytes = new Uint8Array(Float64Array.from(t.dataSync()).buffer);
    for (const b of bytes) mix(b);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** JSON has no inf or nan: they travel as strings, both ways. */
export type JsonNumber = number | 'inf' | '-inf' | 'nan';

export function encodeValues(xs: ArrayLike<number>): JsonNumber[] {
  return Array.from(xs, (v) => (Number.isFinite(v) ? v : Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf'));
}

export function decodeValues(xs: readonly JsonNumber[]): number[] {
  return xs.map((v) => (typeof v === 'number' ? v : v === 'nan' ? Number.NaN : v === 'inf' ? Infinity : -Infinity));
}
