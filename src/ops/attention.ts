/**
 * @file scaledDotProductAttention: softmax(q·kᵀ·scale + mask)·v with the semantics of PyTorch 2's
 * F.scaled_dot_product_attention (PyTorch 1.13 has it only as the private F._scaled_dot_product_attention, bool
 * masks only): a bool attnMask says which positions TAKE PART (true) — the opposite of nn.MultiheadAttention's
 * masks — and a float one is added to the scores; isCausal lets query i see keys 0..i; dropoutP drops attention
 * weights. A composition of matmul, where, softmax and mul, so gradients and second derivatives come for free.
 */
import { isFloating } from '../core/dtype.js';
import { DTypeError, fmtShape, ShapeError, ValueError } from '../core/errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { arange } from './creation.js';
import { add, le, mul, sub, toDtype, where } from './elementwise.js';
import { matmul } from './linalg.js';
import { dropout } from './nnops.js';
import { testedOp } from './registry.js';
import { isTensor } from './scalar.js';
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

const OPTIONS = ['attnMask', 'dropoutP', 'isCausal', 'scale'];
const SNAKE: Record<string, string> = { attn_mask: 'attnMask', dropout_p: 'dropoutP', is_causal: 'isCausal' };

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
  fn: (query: Tensor, key: Tensor, value: Tensor, opts: ScaledDotProductAttentionOptions = {}): Tensor => {
    const op = 'scaledDotProductAttention';
    for (const [what, t] of [
      ['query', query],
      ['key', key],
      ['value', value],
    ] as const)
      if (!isTensor(t))
        throw new ValueError(
          `${op}: ${what} must be a Tensor, got ${t === null ? 'null' : typeof t}; call it as (query, key, value, {attnMask, ...})`,
        );
    let at = `query is ${fmtShape(query.shape)}, key is ${fmtShape(key.shape)}, value is ${fmtShape(value.shape)}`;
    if (opts === null || typeof opts !== 'object' || isTensor(opts) || Array.isArray(opts))
      throw new ValueError(
        `${op}: the fourth argument must be an options object like {attnMask, isCausal}, got ` +
          `${isTensor(opts) ? `a tensor of shape ${fmtShape(opts.shape)}` : String(opts)} (${at}); pass a mask as {attnMask: m}`,
      );
    for (const k of Object.keys(opts))
      if (!OPTIONS.includes(k))
        throw new ValueError(
          `${op}: unknown option '${k}' (${at}); the options are ${OPTIONS.join(', ')}` +
            (SNAKE[k] ? `: use ${SNAKE[k]}` : ''),
        );
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
    const mask = opts.attnMask ?? null;
    const isCausal = opts.isCausal ?? false;
    const dropoutP = opts.dropoutP ?? 0;
    const scale = opts.scale ?? 1 / Math.sqrt(e);
    if (typeof isCausal !== 'boolean')
      throw new ValueError(`${op}: isCausal must be true or false, got ${String(isCausal)} (${at})`);
    if (typeof dropoutP !== 'number' || !(dropoutP >= 0 && dropoutP <= 1))
      throw new ValueError(`${op}: dropoutP must be a probability in [0, 1], got ${String(dropoutP)} (${at})`);
    if (typeof scale !== 'number' || !Number.isFinite(scale))
      throw new ValueError(`${op}: scale must be a finite number, got ${String(scale)} (${at}); the default is 1/√E`);
    if (mask !== null) {
      if (!isTensor(mask)) throw new ValueError(`${op}: attnMask must be a Tensor or null, got ${typeof mask} (${at})`);
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
