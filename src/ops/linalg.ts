/**
 * @file matmul: the Rosetta stone's primitive. Forward Y = A·B; backward dA = dY·Bᵀ, dB = Aᵀ·dY — the transposes
 * are views, so the backward runs the same kernel on strided operands. Batch dims broadcast; the engine sums the
 * gradient of a broadcast batch back to the operand's shape. 1-D operands are handled by unsqueeze/squeeze around it.
 * bmm is the same primitive under PyTorch's strict 3-D rules, baddbmm a composition on it. Like PyTorch, the family
 * does not promote: operands of different dtypes are refused (checkSameDtype), which is also why a float64 input to
 * a float32 layer raises.
 */
import { checked, number, optional, tensor } from '../core/args.js';
import { checkSameDtype, isFloating } from '../core/dtype.js';
import { DTypeError, fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { broadcastShapes, isContiguous, numel } from '../core/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { apply, bview, defineOp, shapeText } from './define.js';
import { add, mul } from './elementwise.js';
import { installMethods } from './methods.js';
import { sum } from './reduce.js';
import { testedOp } from './registry.js';
import { reshape, squeeze, transpose, unsqueeze } from './shape.js';

/**
 * Which operands are stored transposed (a contiguous matrix seen through .mT, as F.linear's weight is): their
 * gradient is computed in that layout, dBᵀ = dYᵀ·A rather than dB = Aᵀ·dY, so it arrives at the leaf contiguous
 * instead of as a transposed view the leaf would have to copy. The same products, no extra work.
 */
interface MatmulParams {
  ta: boolean;
  tb: boolean;
  /** For messages: the public op, its operands' names and the shapes the caller passed (before any reshape). */
  op?: string;
  names?: readonly [string, string];
  shapes?: readonly (readonly number[])[];
}

function storedTransposed(t: Tensor, outRank: number): boolean {
  const n = t.ndim;
  if (n !== outRank) return false; // a broadcast operand's gradient is summed first; its layout is the sum's
  const s = t._strides;
  return t.shape[n - 1] > 1 && t.shape[n - 2] > 1 && s[n - 2] === 1 && s[n - 1] === t.shape[n - 2];
}

const matmulOp = defineOp<MatmulParams>({
  name: 'matmul',
  backwardName: 'MmBackward',
  infer: ([a, b], p) => {
    // The test first, so the hot path allocates nothing for the message's arguments.
    if (a.dtype !== b.dtype) {
      const [na, nb] = p.names ?? ['A', 'B'];
      checkSameDtype(p.op ?? 'matmul', [
        [na, a, p.shapes?.[0]],
        [nb, b, p.shapes?.[1]],
      ]);
    }
    const batch = broadcastShapes(p.op ?? 'matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
    return { shape: [...batch, a.shape[a.ndim - 2], b.shape[b.ndim - 1]], dtype: a.dtype };
  },
  overwrites: true,
  forward: (k, out, [a, b]) => {
    const batch = out.shape.slice(0, -2);
    k.matmul(out._view(), bview(a, [...batch, ...a.shape.slice(-2)]), bview(b, [...batch, ...b.shape.slice(-2)]));
  },
  saveInputs: 'others',
  vjp: (g, c) => {
    const [a, b] = c.inputs;
    const mT = (t: Tensor) => transpose(t, -1, -2);
    return [
      c.needs[0] && (c.params.ta ? mT(matmul(b!, mT(g))) : matmul(g, mT(b!))),
      c.needs[1] && (c.params.tb ? mT(matmul(mT(g), a!)) : matmul(mT(a!), g)),
    ];
  },
  jvp: ([ta, tb], c) => {
    const a = ta && matmul(ta, c.inputs[1]!);
    const b = tb && matmul(c.inputs[0]!, tb);
    return a && b ? add(a, b) : (a ?? b!);
  },
  flops: (ins, out) => 2 * numel(out.shape) * ins[0].shape[ins[0].ndim - 1],
  explain: ({ x: [a, b], dy, inShapes: [sa, sb], outShape }) => {
    const t = (s: readonly number[]) => [...s.slice(0, -2), s[s.length - 1], s[s.length - 2]];
    // A broadcast batch gives output-batched gradients, which explain sums back to the operand's shape.
    const batched = (s: readonly number[]) => [...outShape.slice(0, -2), ...s.slice(-2)];
    return [
      { rhs: `${dy} · ${b}ᵀ`, shapes: `${shapeText(outShape)}·${shapeText(t(sb))}`, shape: batched(sa) },
      { rhs: `${a}ᵀ · ${dy}`, shapes: `${shapeText(t(sa))}·${shapeText(outShape)}`, shape: batched(sb) },
    ];
  },
});

/** Matrix product with PyTorch's rules: 1-D·1-D is a dot product, 1-D operands gain and lose a dim, batches broadcast. */
export const matmul = testedOp({
  name: 'matmul',
  fn: checked('matmul', { args: { input: tensor, other: tensor } }, (a: Tensor, b: Tensor): Tensor => {
    if (a.ndim === 0 || b.ndim === 0)
      throw new ShapeError(
        `matmul: both operands need at least 1 dim, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}; use mul for scalars`,
      );
    if (a.dtype === 'bool' || b.dtype === 'bool')
      throw new DTypeError(
        `matmul: bool operands are not supported (${a.dtype} ${fmtShape(a.shape)} and ${b.dtype} ${fmtShape(b.shape)}); cast with .float()`,
      );
    const ka = a.shape[a.ndim - 1];
    const kb = b.shape[b.ndim === 1 ? 0 : b.ndim - 2];
    if (ka !== kb) {
      const names = a.ndim === 2 && b.ndim === 2 ? ['X', 'W'] : ['A', 'B'];
      throw new ShapeError(
        `matmul: ${names[0]} is ${fmtShape(a.shape)} but ${names[1]} is ${fmtShape(b.shape)}; inner dimensions must match ` +
          `(${ka} ≠ ${kb}). Transpose one operand (.T / .mT) or fix the layer sizes`,
      );
    }
    const a2 = a.ndim === 1 ? unsqueeze(a, 0) : a;
    const b2 = b.ndim === 1 ? unsqueeze(b, 1) : b;
    // A batch of rows times one matrix (a linear layer on [B, T, in]) is one taller product, as in PyTorch: one
    // GEMM forward, and the weight's gradient one GEMM over all rows instead of a batch of them summed after.
    if (a2.ndim > 2 && b2.ndim === 2 && isContiguous(a2.shape, a2._strides)) {
      const rows = reshape(a2, [-1, ka]);
      const flat = apply(matmulOp, [rows, b2], { ta: false, tb: storedTransposed(b2, 2), shapes: [a.shape, b.shape] });
      let out = reshape(flat, [...a2.shape.slice(0, -1), b2.shape[1]]);
      if (b.ndim === 1) out = squeeze(out, -1);
      return out;
    }
    const rank = Math.max(a2.ndim, b2.ndim);
    let out = apply(matmulOp, [a2, b2], {
      ta: storedTransposed(a2, rank),
      tb: storedTransposed(b2, rank),
      shapes: [a.shape, b.shape],
    });
    if (a.ndim === 1) out = squeeze(out, -2);
    if (b.ndim === 1) out = squeeze(out, -1);
    return out;
  }),
  samples: [
    {
      args: [
        [3, 4],
        [4, 5],
      ],
    },
    {
      args: [
        [2, 3, 4],
        [4, 2],
      ],
    },
    {
      args: [
        [2, 1, 3, 4],
        [3, 4, 2],
      ],
    },
    { args: [[4], [4, 3]] },
    { args: [[3, 4], [4]] },
    { args: [[4], [4]] },
    {
      args: [
        [0, 4],
        [4, 3],
      ],
    },
    {
      args: [
        [3, 0],
        [0, 2],
      ],
    },
  ],
  torch: 'torch.matmul',
});

// ----- bmm / baddbmm --------------------------------------------------------------------------------------------

/** bmm's rules, as PyTorch's: both operands 3-D, equal batch sizes (no broadcasting) and matching inner sizes. */
function checkBatches(op: string, a: Tensor, b: Tensor, names: readonly [string, string]): void {
  const at = `${names[0]} is ${fmtShape(a.shape)}, ${names[1]} is ${fmtShape(b.shape)}`;
  for (const [name, t] of [
    [names[0], a],
    [names[1], b],
  ] as const)
    if (t.ndim !== 3)
      throw new ShapeError(
        `${op}: ${name} must be a 3-D tensor [batch, rows, cols], but it has ${t.ndim} dim${t.ndim === 1 ? '' : 's'} ` +
          `(${at}); use matmul for 2-D operands or batches that broadcast`,
      );
  if (a.shape[0] !== b.shape[0] || a.shape[2] !== b.shape[1])
    throw new ShapeError(
      `${op}: expected the first two dims of ${names[1]} to be [${a.shape[0]}, ${a.shape[2]}] (${names[0]}'s batch ` +
        `size and columns), but got [${b.shape[0]}, ${b.shape[1]}] (${at}); ${op} does not broadcast the batch (matmul ` +
        'does), and the inner sizes must match: transpose one operand (.mT) or fix the sizes',
    );
  if (a.dtype === 'bool' || b.dtype === 'bool')
    throw new DTypeError(
      `${op}: bool operands are not supported (${a.dtype} and ${b.dtype}; ${at}); cast with .float()`,
    );
}

function batched(op: string, a: Tensor, b: Tensor, names: readonly [string, string]): Tensor {
  return apply(matmulOp, [a, b], { ta: storedTransposed(a, 3), tb: storedTransposed(b, 3), op, names });
}

/** The batched matrix product of input [b, n, m] and mat2 [b, m, p] → [b, n, p]: PyTorch's bmm, strict 3-D rules. */
export const bmm = testedOp({
  name: 'bmm',
  fn: checked('bmm', { args: { input: tensor, mat2: tensor } }, (input: Tensor, mat2: Tensor): Tensor => {
    checkBatches('bmm', input, mat2, ['input', 'mat2']);
    return batched('bmm', input, mat2, ['input', 'mat2']);
  }),
  samples: [
    {
      args: [
        [2, 3, 4],
        [2, 4, 5],
      ],
    },
    {
      args: [
        [1, 1, 3],
        [1, 3, 1],
      ],
    },
    {
      args: [
        [0, 2, 3],
        [0, 3, 4],
      ],
    },
    {
      args: [
        [2, 3, 0],
        [2, 0, 4],
      ],
    },
  ],
  torch: 'torch.bmm',
});

export interface BaddbmmOptions {
  /** The factor on input (default 1); with 0, input is ignored, so NaN and inf in it do not propagate. */
  beta?: number;
  /** The factor on batch1 · batch2 (default 1). */
  alpha?: number;
}

/**
 * beta·input + alpha·(batch1 · batch2), PyTorch's baddbmm: batch1 [b, n, m] and batch2 [b, m, p] as bmm takes them,
 * input broadcastable to [b, n, p]. All three need one dtype; for integer tensors beta and alpha must be whole.
 */
export const baddbmm = testedOp({
  name: 'baddbmm',
  fn: checked(
    'baddbmm',
    {
      args: { input: tensor, batch1: tensor, batch2: tensor },
      options: { beta: optional(number()), alpha: optional(number()) },
    },
    (input: Tensor, batch1: Tensor, batch2: Tensor, opts: BaddbmmOptions = {}): Tensor => {
      const beta = opts.beta ?? 1;
      const alpha = opts.alpha ?? 1;
      const at =
        `input is ${fmtShape(input.shape)}, batch1 is ${fmtShape(batch1.shape)}, ` +
        `batch2 is ${fmtShape(batch2.shape)}`;
      checkBatches('baddbmm', batch1, batch2, ['batch1', 'batch2']);
      checkSameDtype('baddbmm', [
        ['input', input],
        ['batch1', batch1],
        ['batch2', batch2],
      ]);
      const outShape = [batch1.shape[0], batch1.shape[1], batch2.shape[2]];
      const fits = input.ndim <= 3 && input.shape.every((n, i) => n === 1 || n === outShape[3 - input.ndim + i]);
      if (!fits)
        throw new ShapeError(
          `baddbmm: input must broadcast to the product's shape ${fmtShape(outShape)} (${at}); it is not expanded the ` +
            `other way: give an input of shape ${fmtShape(outShape)} or one whose dims are 1 or match`,
        );
      if (!isFloating(input.dtype))
        for (const [name, v] of [
          ['beta', beta],
          ['alpha', alpha],
        ] as const)
          if (!Number.isInteger(v))
            throw new ValueError(
              `baddbmm: for ${input.dtype} tensors ${name} must be a whole number, got ${v} (${at}); convert the ` +
                'tensors with .float() for a fractional factor',
            );
      const prod = batched('baddbmm', batch1, batch2, ['batch1', 'batch2']);
      const scaled = alpha === 1 ? prod : mul(prod, alpha);
      // PyTorch ignores input when beta is 0: its NaN and inf do not reach the result.
      if (beta === 0) return scaled;
      return add(beta === 1 ? input : mul(input, beta), scaled);
    },
  ),
  samples: [
    {
      args: [
        [2, 3, 5],
        [2, 3, 4],
        [2, 4, 5],
      ],
    },
    {
      args: [
        [2, 3, 5],
        [2, 3, 4],
        [2, 4, 5],
      ],
      call: (f, x, a, b) => f(x, a, b, { beta: 0.5, alpha: -2 }),
      torch: 'lambda x, a, b: torch.baddbmm(x, a, b, beta=0.5, alpha=-2)',
    },
    { args: [[5], [2, 3, 4], [2, 4, 5]], note: 'input broadcast' },
    {
      args: [
        [1, 3, 1],
        [2, 3, 4],
        [2, 4, 5],
      ],
      note: 'input broadcast over size-1 dims',
    },
    {
      args: [
        [2, 3, 5],
        [2, 3, 4],
        [2, 4, 5],
      ],
      call: (f, x, a, b) => f(x, a, b, { beta: 0 }),
      torch: 'lambda x, a, b: torch.baddbmm(x, a, b, beta=0)',
      note: 'beta = 0 ignores input',
    },
    {
      args: [
        [0, 2, 2],
        [0, 2, 3],
        [0, 3, 2],
      ],
    },
  ],
  torch: 'torch.baddbmm',
});

// ----- outer / dot -----------------------------------------------------------------------------------------------

/** The outer product of two vectors: out[i, j] = a[i]·b[j]. */
export const outer = testedOp({
  name: 'outer',
  fn: checked('outer', { args: { input: tensor, vec2: tensor } }, (a: Tensor, b: Tensor): Tensor => {
    if (a.ndim !== 1 || b.ndim !== 1)
      throw new ShapeError(`outer: both operands must be 1-D, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
    return mul(unsqueeze(a, 1), unsqueeze(b, 0));
  }),
  samples: [{ args: [[3], [4]] }],
  torch: 'torch.outer',
});

/** The dot product of two 1-D tensors of equal length. */
export const dot = testedOp({
  name: 'dot',
  fn: checked('dot', { args: { input: tensor, other: tensor } }, (a: Tensor, b: Tensor): Tensor => {
    if (a.ndim !== 1 || b.ndim !== 1 || a.shape[0] !== b.shape[0])
      throw new ShapeError(
        `dot: needs two 1-D tensors of the same length, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`,
      );
    checkSameDtype('dot', [
      ['input', a],
      ['other', b],
    ]);
    return sum(mul(a, b));
  }),
  samples: [{ args: [[5], [5]] }],
  torch: 'torch.dot',
});

declare module '../tensor/tensor.js' {
  interface Tensor {
    matmul(other: Tensor): Tensor;
    bmm(mat2: Tensor): Tensor;
    baddbmm(batch1: Tensor, batch2: Tensor, opts?: BaddbmmOptions): Tensor;
    outer(other: Tensor): Tensor;
    dot(other: Tensor): Tensor;
  }
}
installMethods({ matmul, bmm, baddbmm, outer, dot });
