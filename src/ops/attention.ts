/**
 * @file scaledDotProductAttention: softmax(q·kᵀ·scale + mask)·v with the semantics of PyTorch 2's
 * F.scaled_dot_product_attention (PyTorch 1.13 has it only as the private F._scaled_dot_product_attention, bool
 * masks only): a bool attnMask says which positions TAKE PART (true) — the opposite of nn.MultiheadAttention's
 * masks — and a float one is added to the scores; isCausal lets query i see keys 0..i; dropoutP drops attention
 * weights. A composition of matmul, where, softmax and mul, so gradients and second derivatives come for free.
 */
import { bool, checked, nullable, number, optional, tensor } from '../core/args.js';
import type { PyArgs } from '../core/args-types.js';
import { isFloating } from '../core/dtype.js';
import { DTypeError, fmtShape, ShapeError, ValueError } from '../core/errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { arange } from './creation.js';
import { add, le, mul, sub, toDtype, where } from './elementwise.js';
import { matmul } from './linalg.js';
import { dropout } from './nnops.js';
import { testedOp } from './registry.js';
import { broadcastShapes, reshape, transpose } from './shape.js';
import { softmax } from './softmax.js';

export interface ScaledDotProductAttentionOptions {
  /**
   * Broadcast to [..., L, S]. A bool mask: true where the query may attend to the key (PyTorch 2's convention; note
   * that nn.MultiheadAttention's bool masks mean the opposite). A float mask: added to the scores (−inf blocks).
   */
  attnMask?: Tensor | null;
  /** The probability of zeroing each attention weight (the rest are scaled by 1/(1 − p)). Default 0. */
  dropoutP?: number;
  /** Query i attends to keys 0..i only (a lower-triangular mask, aligned top-left when L ≠ S). Default false. */
  isCausal?: boolean;
  /** The factor on q·kᵀ. Default 1/√E, E the query's last dim. */
  scale?: number | null;
}

/**
 * PyTorch 2's `scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, *,
 * scale=None)` (PyTorch 1.13 has no public one to follow).
 */
const SDPA_ARGS = {
  args: {
    query: tensor,
    key: tensor,
    value: tensor,
    attnMask: optional(nullable(tensor)),
    dropoutP: optional({ ...number({ min: 0, max: 1 }), what: 'a probability in [0, 1]' }),
    isCausal: optional(bool),
  },
  options: { scale: optional(nullable({ ...number(), what: 'a finite number (the default is 1/√E)' })) },
};

/** keep[i, j] = j ≤ i: the causal mask of L queries over S keys (bool, [L, S]). */
function causalMask(l: number, s: number): Tensor {
  return le(sub(arange(s), reshape(arange(l), [l, 1])), 0);
}

/**
 * Attention: softmax(query·keyᵀ·scale + mask, −1)·value for query [..., L, E], key [..., S, E] and value
 * [..., S, Ev] (batch dims broadcast), giving [..., L, Ev]. See ScaledDotProductAttentionOptions for the masks.
 */
export const scaledDotProductAttention = testedOp({
  name: 'scaledDotProductAttention',
  fn: checked(
    'scaledDotProductAttention',
    SDPA_ARGS,
    (
      query: Tensor,
      key: Tensor,
      value: Tensor,
      attnMask: Tensor | null = null,
      dropoutP: number = 0,
      isCausal: boolean = false,
      opts: { scale?: number | null } = {},
    ): Tensor => {
      const op = 'scaledDotProductAttention';
      let at = `query is ${fmtShape(query.shape)}, key is ${fmtShape(key.shape)}, value is ${fmtShape(value.shape)}`;
      for (const [what, t] of [
        ['query', query],
        ['key', key],
        ['value', value],
      ] as const) {
        if (!isFloating(t.dtype))
          throw new DTypeError(`${op}: ${what} must be floating point, got ${t.dtype} (${at}); cast it with .float()`);
        if (t.ndim < 2)
          throw new ShapeError(
            `${op}: ${what} must have at least 2 dims, [..., sequence, features], but ${at}; unsqueeze a 1-D ${what}`,
          );
      }
      const l = query.shape[query.ndim - 2];
      const e = query.shape[query.ndim - 1];
      const s = key.shape[key.ndim - 2];
      if (key.shape[key.ndim - 1] !== e)
        throw new ShapeError(
          `${op}: ${at}; query and key must have the same last dim (the features q·kᵀ sums over): ${e} vs ` +
            `${key.shape[key.ndim - 1]}`,
        );
      if (value.shape[value.ndim - 2] !== s)
        throw new ShapeError(
          `${op}: ${at}; key and value must have the same sequence length (dim −2): ${s} vs ` +
            `${value.shape[value.ndim - 2]}, one value per key`,
        );
      let batch: number[];
      try {
        batch = broadcastShapes(query.shape.slice(0, -2), key.shape.slice(0, -2), value.shape.slice(0, -2));
      } catch {
        throw new ShapeError(
          `${op}: ${at}; the batch dims (all but the last two) of query, key and value must broadcast together`,
        );
      }
      const mask = attnMask;
      const scale = opts.scale ?? 1 / Math.sqrt(e);
      if (mask !== null) {
        at += `, attnMask is ${fmtShape(mask.shape)}`;
        if (isCausal)
          throw new ValueError(
            `${op}: give attnMask or isCausal, not both (${at}); to combine them, AND your bool mask with a causal ` +
              'one (lower-triangular: ad.ones([L, S]).tril().bool()) and pass that alone',
          );
        if (mask.dtype !== 'bool' && !isFloating(mask.dtype))
          throw new DTypeError(
            `${op}: attnMask must be bool (true = take part) or floating point (added to the scores), got ` +
              `${mask.dtype} (${at}); compare to get a bool mask (m.ne(0))`,
          );
        const scores = [...batch, l, s];
        let ok = mask.ndim <= scores.length;
        try {
          ok &&= broadcastShapes(mask.shape, scores).every((n, i) => n === scores[i]);
        } catch {
          ok = false;
        }
        if (!ok)
          throw new ShapeError(
            `${op}: ${at}; attnMask must broadcast to the scores' shape ${fmtShape(scores)} ([..., L, S]), e.g. ` +
              `[${l}, ${s}] for every batch`,
          );
      }

      let scores = mul(matmul(query, transpose(key, -2, -1)), scale);
      if (isCausal) scores = where(causalMask(l, s), scores, -Infinity);
      else if (mask?.dtype === 'bool') scores = where(mask, scores, -Infinity);
      else if (mask) scores = add(scores, toDtype(mask, scores.dtype));
      return matmul(dropout(softmax(scores, -1), dropoutP), value);
    },
  ) as (
    ...a: PyArgs<
      [query: Tensor, key: Tensor, value: Tensor],
      [attnMask: Tensor | null, dropoutP: number, isCausal: boolean],
      ScaledDotProductAttentionOptions
    >
  ) => Tensor,
  samples: [
    {
      args: [
        [2, 3, 4],
        [2, 5, 4],
        [2, 5, 6],
      ],
      torch: 'lambda q, k, v: F._scaled_dot_product_attention(q, k, v)[0]',
    },
    {
      args: [
        [3, 4],
        [3, 4],
        [3, 4],
      ],
      call: (f, q, k, v) => f(q, k, v, { isCausal: true }),
      torch: 'lambda q, k, v: F._scaled_dot_product_attention(q, k, v, None, 0.0, False, True)[0]',
      note: 'causal',
    },
    {
      args: [
        [2, 3, 4],
        [2, 5, 4],
        [2, 5, 4],
      ],
      call: (f, q, k, v) => f(q, k, v, { isCausal: true }),
      torch:
        'lambda q, k, v: torch.softmax((q @ k.transpose(-2, -1) / 2).masked_fill(~torch.ones(3, 5, dtype=torch.bool)' +
        '.tril(), -math.inf), -1) @ v',
      note: 'causal, more keys than queries',
    },
    {
      args: [
        [2, 2, 3, 4],
        [2, 2, 4, 4],
        [2, 2, 4, 3],
        {
          shape: [3, 4],
          dtype: 'bool',
          values: [
            [true, false, true, false],
            [false, false, false, true],
            [true, true, true, true],
          ],
        },
      ],
      call: (f, q, k, v, m) => f(q, k, v, { attnMask: m }),
      torch: 'lambda q, k, v, m: F._scaled_dot_product_attention(q, k, v, m)[0]',
      note: 'bool mask, heads',
    },
    {
      args: [
        [2, 3, 4],
        [2, 5, 4],
        [2, 5, 2],
        [2, 1, 5],
      ],
      call: (f, q, k, v, m) => f(q, k, v, { attnMask: m, scale: 0.3 }),
      torch: 'lambda q, k, v, m: torch.softmax(q @ k.transpose(-2, -1) * 0.3 + m, -1) @ v',
      note: 'float mask, differentiated, and a scale',
    },
    {
      args: [
        [3, 4],
        [2, 5, 4],
        [5, 3],
      ],
      torch: 'lambda q, k, v: torch.softmax(q @ k.transpose(-2, -1) / 2, -1) @ v',
      note: 'broadcast batch dims',
    },
    {
      args: [
        [0, 4],
        [3, 4],
        [3, 2],
      ],
      torch: 'lambda q, k, v: F._scaled_dot_product_attention(q, k, v)[0]',
    },
  ],
});
