/**
 * @file The fused LSTM cell, a primitive for speed (as cuDNN's and PyTorch's fused cells are): one kernel for the
 * step's activations and state update, one for its VJP, instead of ~15 elementwise ops forward and ~40 backward on
 * [B, H] pieces. Its values are the composition's — chunk, sigmoid, tanh, mul, add — rounded step by step alike
 * (the kernel contract says how; on the fast backends, float32 σ and tanh come from SIMD within 2 ulp). Under
 * createGraph or forward mode its VJP is that composition written in differentiable ops, so higher derivatives are
 * exact; the JVP is the composition's too. Internal: nn.LSTM and
 * nn.LSTMCell call it, it is not exported from src/index.ts.
 */

import { modes } from '../autograd/mode.js';
import { isFloating } from '../core/dtype.js';
import { DTypeError, fmtShape, ShapeError } from '../core/errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { apply, defineOp } from './define.js';
import { add, mul, rsub, sigmoid, tanh } from './elementwise.js';
import { cat, chunk, stack, unbind } from './join.js';
import { testedOp } from './registry.js';
import { narrow, reshape } from './shape.js';

const lstmCellOp = defineOp({
  name: '_lstmCell',
  backwardName: 'LstmCellBackward',
  infer: ([gates, c]) => {
    const [B, H] = c.shape;
    if (c.ndim !== 2 || gates.ndim !== 2 || gates.shape[0] !== B || gates.shape[1] !== 4 * H)
      throw new ShapeError(
        `_lstmCell: gates must be [B, 4H] for c [B, H], got gates ${fmtShape(gates.shape)} and c ${fmtShape(c.shape)}`,
      );
    if (gates.dtype !== c.dtype || !isFloating(gates.dtype))
      throw new DTypeError(`_lstmCell: gates and c must share one float dtype, got ${gates.dtype} and ${c.dtype}`);
    return { shape: [2, B, H], dtype: c.dtype };
  },
  forward: (k, out, [gates, c]) => k.lstmCell(out._view(), gates._view(), c._view()),
  saveInputs: 'all',
  vjp: (g, c) => {
    const [gates, c0] = c.inputs as [Tensor, Tensor];
    const m = modes();
    if (m.grad || m.levels.length > 0) return composedVjp(g, gates, c0);
    const d = apply(lstmCellBackwardOp, [gates, c0, g], undefined);
    const [B, H] = c0.shape;
    return [
      c.needs[0] && reshape(narrow(d, 0, 0, 4 * B * H), [B, 4 * H]),
      c.needs[1] && reshape(narrow(d, 0, 4 * B * H, B * H), [B, H]),
    ];
  },
  jvp: ([tz, tc], c) => {
    const [gates, c0] = c.inputs as [Tensor, Tensor];
    const [si, sf, tg, so] = activations(gates);
    const terms: Tensor[] = [];
    let dsi: Tensor | null = null;
    let dsf: Tensor | null = null;
    let dtg: Tensor | null = null;
    let dso: Tensor | null = null;
    if (tz) {
      const [ti, tf, tgg, to] = chunk(tz, 4, -1);
      dsi = mul(ti, mul(si, rsub(si, 1)));
      dsf = mul(tf, mul(sf, rsub(sf, 1)));
      dtg = mul(tgg, rsub(mul(tg, tg), 1));
      dso = mul(to, mul(so, rsub(so, 1)));
      terms.push(mul(dsf, c0), mul(dsi, tg), mul(si, dtg));
    }
    if (tc) terms.push(mul(sf, tc));
    const dc = terms.reduce((a, b) => add(a, b));
    const c1 = add(mul(sf, c0), mul(si, tg));
    const tc1 = tanh(c1);
    let dh = mul(so, mul(dc, rsub(mul(tc1, tc1), 1)));
    if (dso) dh = add(mul(dso, tc1), dh);
    return stack([dh, dc]);
  },
  flops: (_ins, out) => 15 * (out.shape[1] * out.shape[2]),
});

/** σ(i), σ(f), tanh(g), σ(o) from the pre-activations, as differentiable ops. */
function activations(gates: Tensor): Tensor[] {
  const [i, f, g, o] = chunk(gates, 4, -1);
  return [sigmoid(i), sigmoid(f), tanh(g), sigmoid(o)];
}

/** The cell's VJP as the composition's: differentiable, for createGraph and forward-over-reverse. */
function composedVjp(g: Tensor, gates: Tensor, c0: Tensor): [Tensor, Tensor] {
  const [si, sf, tg, so] = activations(gates);
  const [dh, dcOut] = unbind(g, 0);
  const tc = tanh(add(mul(sf, c0), mul(si, tg)));
  const dc = add(dcOut, mul(mul(dh, so), rsub(mul(tc, tc), 1)));
  const dGates = cat(
    [
      mul(mul(dc, tg), mul(si, rsub(si, 1))),
      mul(mul(dc, c0), mul(sf, rsub(sf, 1))),
      mul(mul(dc, si), rsub(mul(tg, tg), 1)),
      mul(mul(dh, tc), mul(so, rsub(so, 1))),
    ],
    -1,
  );
  return [dGates, mul(dc, sf)];
}

/**
 * The cell's VJP in one kernel: inputs gates, c and the cotangent [2, B, H]; output dGates and dc flattened into
 * one [5BH] buffer, so each is a contiguous view of it. Only run without a graph being recorded (the cell's VJP
 * composes otherwise), hence not differentiable itself.
 */
const lstmCellBackwardOp = defineOp({
  name: '_lstmCellBackward',
  differentiable: false,
  infer: ([, c]) => ({ shape: [5 * c.shape[0] * c.shape[1]], dtype: c.dtype }),
  forward: (k, out, [gates, c, g]) => {
    const v = out._view();
    const [B, H] = c.shape;
    const dGates = { ...v, shape: [B, 4 * H], strides: [4 * H, 1] };
    const dc = { ...v, shape: [B, H], strides: [H, 1], offset: v.offset + 4 * B * H };
    k.lstmCellBackward(dGates, dc, gates._view(), c._view(), g._view());
  },
  saveInputs: 'none',
  flops: (ins) => 30 * ins[1].shape[0] * ins[1].shape[1],
});

/**
 * The fused LSTM step: gate pre-activations gates [B, 4H] (i, f, g, o, torch's order) and cell state c [B, H] give
 * [2, B, H] holding (h, c'). Callers check the shapes and dtypes (nn.LSTM, nn.LSTMCell use it only where they fit).
 */
export const _lstmCell = testedOp({
  name: '_lstmCell',
  fn: (gates: Tensor, c: Tensor): Tensor => apply(lstmCellOp, [gates, c], undefined),
  samples: [
    {
      args: [
        [3, 8],
        [3, 2],
      ],
      torch: null,
      torchNote: 'internal fused primitive; test/parity-rnn checks nn.LSTM',
    },
    {
      args: [
        [1, 4],
        [1, 1],
      ],
      torch: null,
      torchNote: 'internal fused primitive; test/parity-rnn checks nn.LSTM',
    },
    {
      // H a multiple of 4: the fast backends' SIMD path in float32
      args: [
        [2, 16],
        [2, 4],
      ],
      torch: null,
      torchNote: 'internal fused primitive; test/parity-rnn checks nn.LSTM',
    },
    {
      args: [[2, 12], { shape: [2, 3], grad: false }],
      torch: null,
      torchNote: 'internal fused primitive; test/parity-rnn checks nn.LSTM',
    },
  ],
});
