/**
 * @file The op table's sample variants, shared by the op-table tests: each sample as given (contiguous) and with its
 * differentiable inputs made transposed, strided or expanded views of larger or smaller leaves, so every rule also
 * sees non-contiguous and broadcast-stride inputs.
 */
import type * as ad from '../src/index.js';
import type { OpTest, Sample } from '../src/ops/registry.js';
import { isDiffArg, makeArg, spec } from './helpers.js';

export type Variant = 'contiguous' | 'transposed' | 'strided' | 'expanded';

export const VARIANTS: readonly Variant[] = ['contiguous', 'transposed', 'strided', 'expanded'];

/** Builds leaves and the function from leaves to the op's inputs for a variant; null when it does not apply. */
export function build(
  s: Sample,
  v: Variant,
): { leaves: ad.Tensor[]; toInputs: (ls: ad.Tensor[]) => ad.Tensor[] } | null {
  const views: ((t: ad.Tensor) => ad.Tensor)[] = [];
  const leaves: ad.Tensor[] = [];
  let applied = false;
  for (const a of s.args) {
    const sh = spec(a).shape;
    if (v !== 'contiguous' && isDiffArg(a)) {
      if (v === 'transposed' && sh.length >= 2) {
        const tsh = [...sh.slice(0, -2), sh[sh.length - 1], sh[sh.length - 2]];
        leaves.push(makeArg(a, tsh));
        views.push((t) => t.transpose(-1, -2));
        applied = true;
        continue;
      }
      if (v === 'strided' && sh.length >= 1) {
        const ssh = [...sh.slice(0, -1), sh[sh.length - 1] * 2];
        leaves.push(makeArg(a, ssh));
        views.push((t) => t.slice(-1, 0, null, 2));
        applied = true;
        continue;
      }
      const big = sh.findIndex((d) => d > 1);
      if (v === 'expanded' && big >= 0) {
        const esh = sh.slice();
        esh[big] = 1;
        leaves.push(makeArg(a, esh));
        views.push((t) => t.expand(sh));
        applied = true;
        continue;
      }
    }
    leaves.push(makeArg(a));
    views.push((t) => t);
  }
  if (v !== 'contiguous' && !applied) return null;
  return { leaves, toInputs: (ls) => ls.map((l, i) => views[i](l)) };
}

/** Calls the op on the sample's tensors the way the sample says. */
export function call(op: OpTest, s: Sample, xs: ad.Tensor[]): ad.Tensor {
  return s.call ? s.call(op.fn, ...xs) : op.fn(...xs);
}
