/**
 * @file Recurrent layers as PyTorch 1.13 has them: RNN (tanh or relu), LSTM (with projSize), GRU, and the one-step
 * cells RNNCell, LSTMCell, GRUCell — with torch's parameter names, shapes, order and default initialisation, so state
 * dicts move both ways.
 *
 * There is no backprop-through-time code here. Each time step is composed from differentiable ops (matmul, add,
 * sigmoid, tanh, relu, chunk, stack, cat; an LSTM step without projection runs its gates through the fused cell op
 * _lstmCell); every step's use of a shared weight is one more edge into the same leaf, and the autograd engine sums
 * the gradients arriving along those edges — which is exactly BPTT's sum over steps.
 */
import { bool, checkMethods, nullable, oneOf, optional, sig, tensor, tuple } from '../core/args.js';
import { DEFAULT_FLOAT, type DType } from '../core/dtype.js';
import { DTypeError, fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { rand, zeros } from '../ops/creation.js';
import { add, mul, relu, sigmoid, sub, tanh } from '../ops/elementwise.js';
import { cat, chunk, stack, unbind } from '../ops/join.js';
import { matmul } from '../ops/linalg.js';
import { dropout } from '../ops/nnops.js';
import { _lstmCell } from '../ops/rnn-cell.js';
import { squeeze, transpose, unsqueeze } from '../ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { FEATURES, FLOAT_DTYPE, PROB, SIZE } from './args.js';
import { Module, Parameter } from './module.js';

/** torch's own names for the four recurrences (its `mode` attribute). */
type Mode = 'RNN_TANH' | 'RNN_RELU' | 'LSTM' | 'GRU';
export type Nonlinearity = 'tanh' | 'relu';

const GATES: Record<Mode, number> = { RNN_TANH: 1, RNN_RELU: 1, LSTM: 4, GRU: 3 };

// ---------------------------------------------------------------------------------------------------------------
// The recurrence, shared by the layers and the cells

/** One layer-direction's (or one cell's) weights, already transposed for x·Wᵀ. */
interface StepWeights {
  whhT: Tensor;
  bHh: Tensor | null;
  /** LSTM's projection of h (projSize > 0). */
  whrT: Tensor | null;
}

function affine(x: Tensor, wT: Tensor, b: Tensor | null): Tensor {
  const y = matmul(x, wT);
  return b ? add(y, b) : y;
}

/**
 * One time step from the input's gate pre-activations gi = x·W_ihᵀ + b_ih and the state ([h] or LSTM's [h, c]);
 * returns the new state. The formulas and gate orders are torch's: LSTM i, f, g, o; GRU r, z, n with
 * n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)).
 */
function step(mode: Mode, gi: Tensor, state: Tensor[], w: StepWeights): Tensor[] {
  const gh = affine(state[0], w.whhT, w.bHh);
  switch (mode) {
    case 'RNN_TANH':
      return [tanh(add(gi, gh))];
    case 'RNN_RELU':
      return [relu(add(gi, gh))];
    case 'LSTM': {
      const z = add(gi, gh);
      if (!w.whrT && z.ndim === 2 && z.dtype === state[1].dtype) {
        // The fused cell (src/ops/rnn-cell.ts): the same values as the composition below, in one kernel each way.
        const hc = _lstmCell(z, state[1]);
        return unbind(hc, 0);
      }
      const [i, f, g, o] = chunk(z, 4, -1);
      const c = add(mul(sigmoid(f), state[1]), mul(sigmoid(i), tanh(g)));
      const h = mul(sigmoid(o), tanh(c));
      return [w.whrT ? matmul(h, w.whrT) : h, c];
    }
    case 'GRU': {
      const [ir, iz, inn] = chunk(gi, 3, -1);
      const [hr, hz, hn] = chunk(gh, 3, -1);
      const r = sigmoid(add(ir, hr));
      const z = sigmoid(add(iz, hz));
      const n = tanh(add(inn, mul(r, hn)));
      // (1 − z) ⊙ n + z ⊙ h, written as torch's gru_cell writes it.
      return [add(n, mul(z, sub(state[0], n)))];
    }
  }
}

/** torch's default for every recurrent weight and bias: U(−1/√hidden, 1/√hidden). */
function uniformParameter(shape: number[], hiddenSize: number, dtype: DType): Tensor {
  const k = hiddenSize > 0 ? 1 / Math.sqrt(hiddenSize) : 0;
  return Parameter(sub(mul(rand(shape, { dtype }), 2 * k), k));
}

function checkDtype(owner: string, what: string, t: Tensor, weight: Tensor): void {
  if (t.dtype !== weight.dtype)
    throw new DTypeError(
      `${owner}: ${what} (shape ${fmtShape(t.shape)}) is ${t.dtype} but the weights are ${weight.dtype}; they must ` +
        `match: convert it (.${weight.dtype === 'float64' ? 'double' : 'float'}()) or build the layer with ` +
        `{dtype: '${t.dtype}'}`,
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Multi-layer, optionally bidirectional layers

export interface RNNBaseOptions {
  /** Stacked layers; layer l > 0 reads layer l − 1's output (default 1). */
  numLayers?: number;
  /** Whether the layers have bias_ih / bias_hh (default true). */
  bias?: boolean;
  /** Input and output as (batch, seq, feature) instead of (seq, batch, feature); states are unaffected. */
  batchFirst?: boolean;
  /** Dropout probability on each layer's output except the last, in training only (default 0). */
  dropout?: number;
  /** A second direction per layer that reads the sequence backwards; outputs concatenate [forward, reverse]. */
  bidirectional?: boolean;
  /** The parameters' dtype (torch's factory kwarg); default float32. */
  dtype?: DType;
}

export interface RNNOptions extends RNNBaseOptions {
  nonlinearity?: Nonlinearity;
}

export interface LSTMOptions extends RNNBaseOptions {
  /** When > 0, h is projected to this size by weight_hr (torch's proj_size); must be < hiddenSize. */
  projSize?: number;
}

const MODES = ['RNN_TANH', 'RNN_RELU', 'LSTM', 'GRU'] as const;
const NONLINEARITY = optional(oneOf(['tanh', 'relu']));

/** The arguments of torch's RNNBase after the mode, in its order; RNN and GRU lack projSize. */
const RECURRENT = {
  inputSize: FEATURES,
  hiddenSize: SIZE,
  numLayers: optional(SIZE),
  bias: optional(bool),
  batchFirst: optional(bool),
  dropout: optional(PROB),
  bidirectional: optional(bool),
};
const PROJ_SIZE = optional(FEATURES);
const ONLY_LSTM = 'an LSTM: projSize is only supported by LSTM, not RNN or GRU';

/**
 * torch.nn.RNNBase(mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
 * bidirectional=False, proj_size=0, *, dtype=None), mode one of torch's: 'RNN_TANH', 'RNN_RELU', 'LSTM', 'GRU'.
 */
const RNN_BASE = sig('RNNBase', {
  args: { mode: oneOf(MODES), ...RECURRENT, projSize: PROJ_SIZE },
  options: { dtype: FLOAT_DTYPE },
});
/**
 * torch.nn.RNN(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
 * bidirectional=False, *, nonlinearity='tanh', dtype=None): PyTorch takes nonlinearity by keyword only.
 */
const RNN_SIG = sig('RNN', {
  args: RECURRENT,
  options: { nonlinearity: NONLINEARITY, dtype: FLOAT_DTYPE },
  renames: { projSize: ONLY_LSTM, proj_size: ONLY_LSTM },
});
/** torch.nn.LSTM: RNNBase's arguments after the mode, proj_size included. */
const LSTM_SIG = sig('LSTM', { args: { ...RECURRENT, projSize: PROJ_SIZE }, options: { dtype: FLOAT_DTYPE } });
/** torch.nn.GRU: as RNN's, without nonlinearity. */
const GRU_SIG = sig('GRU', {
  args: RECURRENT,
  options: { dtype: FLOAT_DTYPE },
  renames: { projSize: ONLY_LSTM, proj_size: ONLY_LSTM },
});

/**
 * What RNN, LSTM and GRU share: torch's RNNBase. Parameters are registered per layer and direction in torch's order
 * (weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}, weight_hr_l{k}, then the `_reverse` ones), and read by
 * name at each forward, so replacing or loading them takes effect.
 */
export class RNNBase extends Module {
  readonly mode: Mode;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  readonly projSize: number;
  /** @internal the parameter names of each layer-direction, [w_ih, w_hh, b_ih?, b_hh?, w_hr?], torch's _all_weights. */
  readonly _allWeightNames: string[][] = [];

  // The first layer's parameters, typed for convenience; the others are found by name (weight_ih_l1_reverse, …).
  declare weight_ih_l0: Tensor;
  declare weight_hh_l0: Tensor;
  declare bias_ih_l0: Tensor;
  declare bias_hh_l0: Tensor;

  constructor(
    mode: Mode,
    inputSize: number,
    hiddenSize: number,
    numLayers?: number | LSTMOptions,
    bias?: boolean | LSTMOptions,
    batchFirst?: boolean | LSTMOptions,
    dropout?: number | LSTMOptions,
    bidirectional?: boolean | LSTMOptions,
    projSize?: number | LSTMOptions,
    opts?: LSTMOptions,
  );
  constructor(...args: unknown[]) {
    super();
    const a = RNN_BASE.bind(args);
    const { mode, inputSize, hiddenSize } = a;
    const name = mode.startsWith('RNN') ? 'RNN' : mode;
    const numLayers = a.numLayers ?? 1;
    const dropout = a.dropout ?? 0;
    const projSize = a.projSize ?? 0;
    if (projSize > 0 && mode !== 'LSTM')
      throw new ValueError(`${name}: projSize is only supported by LSTM, got projSize ${projSize}`);
    if (projSize >= hiddenSize)
      throw new ValueError(
        `${name}: projSize (${projSize}) must be smaller than hiddenSize (${hiddenSize}); use 0 for no projection`,
      );
    this.mode = mode;
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    this.numLayers = numLayers;
    this.bias = a.bias ?? true;
    this.batchFirst = a.batchFirst ?? false;
    this.dropout = dropout;
    this.bidirectional = a.bidirectional ?? false;
    this.projSize = projSize;

    const dtype = a.dtype ?? DEFAULT_FLOAT;
    const gateSize = GATES[mode] * hiddenSize;
    const hOut = projSize || hiddenSize;
    const dirs = this.bidirectional ? 2 : 1;
    const self = this as unknown as Record<string, Tensor>;
    for (let l = 0; l < numLayers; l++)
      for (let d = 0; d < dirs; d++) {
        const sfx = `_l${l}${d ? '_reverse' : ''}`;
        const layerIn = l === 0 ? inputSize : hOut * dirs;
        const shapes: [string, number[]][] = [
          [`weight_ih${sfx}`, [gateSize, layerIn]],
          [`weight_hh${sfx}`, [gateSize, hOut]],
        ];
        if (this.bias) shapes.push([`bias_ih${sfx}`, [gateSize]], [`bias_hh${sfx}`, [gateSize]]);
        if (projSize > 0) shapes.push([`weight_hr${sfx}`, [projSize, hiddenSize]]);
        for (const [n, s] of shapes) self[n] = uniformParameter(s, hiddenSize, dtype);
        this._allWeightNames.push(shapes.map(([n]) => n));
      }
  }

  /** The parameters per layer-direction, in torch's order (torch's all_weights). */
  get allWeights(): Tensor[][] {
    const self = this as unknown as Record<string, Tensor>;
    return this._allWeightNames.map((names) => names.map((n) => self[n]));
  }

  /** @internal The layer's name in messages. */
  get _name(): string {
    return this.constructor.name;
  }

  /**
   * Checks the input and states before anything is computed, and returns them time-major and batched:
   * x (L, N, H_in), states (numLayers·D, N, ·).
   */
  _prepare(input: Tensor, hx: Tensor[] | null): { x: Tensor; states: Tensor[] | null; unbatched: boolean } {
    const name = this._name;
    if (input.ndim !== 2 && input.ndim !== 3)
      throw new ShapeError(
        `${name}: input must be 3-D ${this.batchFirst ? '(batch, seq, feature)' : '(seq, batch, feature)'} or 2-D ` +
          `(seq, feature) unbatched, got shape ${fmtShape(input.shape)}`,
      );
    const unbatched = input.ndim === 2;
    const w = this.weight_ih_l0;
    const feat = input.shape[input.ndim - 1];
    if (feat !== this.inputSize)
      throw new ShapeError(
        `${name}: input has shape ${fmtShape(input.shape)}, whose last dim (${feat}) must equal inputSize ` +
          `(${this.inputSize}); give ${this.inputSize} features per step or build the layer with inputSize ${feat}`,
      );
    checkDtype(name, 'input', input, w);
    const seqDim = unbatched || !this.batchFirst ? 0 : 1;
    if (input.shape[seqDim] === 0)
      throw new ShapeError(
        `${name}: input has shape ${fmtShape(input.shape)}, an empty sequence (dim ${seqDim}); the sequence ` +
          `length must be at least 1`,
      );
    const batch = unbatched ? 0 : input.shape[this.batchFirst ? 0 : 1];
    const rows = this.numLayers * (this.bidirectional ? 2 : 1);
    const hOut = this.projSize || this.hiddenSize;
    const expect = (size: number) => (unbatched ? [rows, size] : [rows, batch, size]);
    const names = this.mode === 'LSTM' ? ['h0', 'c0'] : ['h0'];
    const sizes = [hOut, this.hiddenSize];
    if (hx) {
      hx.forEach((t, i) => {
        const e = expect(sizes[i]);
        if (t.ndim !== e.length)
          throw new ShapeError(
            `${name}: for ${unbatched ? 'unbatched 2-D' : 'batched 3-D'} input (shape ${fmtShape(input.shape)}), ` +
              `${names[i]} must also be ${e.length}-D, shape ${fmtShape(e)}, but got shape ${fmtShape(t.shape)}`,
          );
        if (t.shape.some((s, j) => s !== e[j]))
          throw new ShapeError(
            `${name}: ${names[i]} has shape ${fmtShape(t.shape)} but must be ${fmtShape(e)} ` +
              `(numLayers·numDirections${unbatched ? '' : ', batch'}, ${i === 0 && this.projSize ? 'projSize' : 'hiddenSize'}) ` +
              `for input of shape ${fmtShape(input.shape)}`,
          );
        checkDtype(name, names[i], t, w);
      });
    }
    const x = unbatched ? unsqueeze(input, 1) : this.batchFirst ? transpose(input, 0, 1) : input;
    const states = hx && (unbatched ? hx.map((t) => unsqueeze(t, 1)) : hx);
    return { x, states, unbatched };
  }

  /** The stacked recurrence on time-major x (L, N, H_in); returns the output (L, N, D·H_out) and final states. */
  _run(x: Tensor, states: Tensor[] | null): { output: Tensor; finals: Tensor[] } {
    const lstm = this.mode === 'LSTM';
    const dirs = this.bidirectional ? 2 : 1;
    const [steps, batch] = x.shape;
    const hOut = this.projSize || this.hiddenSize;
    const rows = this.numLayers * dirs;
    const init = states ?? [
      zeros([rows, batch, hOut], { dtype: x.dtype }),
      ...(lstm ? [zeros([rows, batch, this.hiddenSize], { dtype: x.dtype })] : []),
    ];
    const perRow = init.map((s) => unbind(s, 0));
    const finals: Tensor[][] = init.map(() => []);
    const all = this.allWeights;
    let layerInput = x;
    for (let l = 0; l < this.numLayers; l++) {
      const outs: Tensor[] = [];
      for (let d = 0; d < dirs; d++) {
        const k = l * dirs + d;
        const [wIh, wHh, ...rest] = all[k];
        const bIh = this.bias ? rest[0] : null;
        const w: StepWeights = {
          whhT: transpose(wHh, 0, 1),
          bHh: this.bias ? rest[1] : null,
          whrT: this.projSize ? transpose(rest[rest.length - 1], 0, 1) : null,
        };
        // The input side of every step in one matmul; only the hidden side must wait for the previous step.
        const gi = unbind(affine(layerInput, transpose(wIh, 0, 1), bIh), 0);
        let state = perRow.map((r) => r[k]);
        const hs: Tensor[] = new Array(steps);
        for (let s = 0; s < steps; s++) {
          const t = d === 0 ? s : steps - 1 - s;
          state = step(this.mode, gi[t], state, w);
          hs[t] = state[0];
        }
        state.forEach((st, i) => finals[i].push(st));
        outs.push(stack(hs, 0));
      }
      layerInput = dirs === 1 ? outs[0] : cat(outs, -1);
      // torch drops each layer's output but the last, in training only (seeded by ad.manualSeed).
      if (this.training && this.dropout > 0 && l < this.numLayers - 1)
        layerInput = dropout(layerInput, this.dropout, true);
    }
    return { output: layerInput, finals: finals.map((f) => stack(f, 0)) };
  }

  /** Runs the layer on a checked input: output in the input's layout, final states (numLayers·D, [N,] ·). */
  _forward(input: Tensor, hx: Tensor[] | null): [Tensor, Tensor[]] {
    const { x, states, unbatched } = this._prepare(input, hx);
    const { output, finals } = this._run(x, states);
    if (unbatched) return [squeeze(output, 1), finals.map((f) => squeeze(f, 1))];
    return [this.batchFirst ? transpose(output, 0, 1) : output, finals];
  }

  override extraRepr(): string {
    const parts = [`${this.inputSize}, ${this.hiddenSize}`];
    if (this.mode === 'RNN_RELU') parts.push('nonlinearity=relu');
    if (this.projSize) parts.push(`projSize=${this.projSize}`);
    if (this.numLayers !== 1) parts.push(`numLayers=${this.numLayers}`);
    if (!this.bias) parts.push('bias=false');
    if (this.batchFirst) parts.push('batchFirst=true');
    if (this.dropout) parts.push(`dropout=${this.dropout}`);
    if (this.bidirectional) parts.push('bidirectional=true');
    return parts.join(', ');
  }
}

/**
 * Elman RNN: h_t = tanh(x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh) (or relu). forward(input, h0?) → [output, h_n] with
 * input (L, N, H_in) — (N, L, H_in) with batchFirst — or (L, H_in) unbatched, h0 and h_n (numLayers·D, [N,] H).
 */
export class RNN extends RNNBase {
  readonly nonlinearity: Nonlinearity;
  constructor(
    inputSize: number,
    hiddenSize: number,
    numLayers?: number | RNNOptions,
    bias?: boolean | RNNOptions,
    batchFirst?: boolean | RNNOptions,
    dropout?: number | RNNOptions,
    bidirectional?: boolean | RNNOptions,
    opts?: RNNOptions,
  );
  constructor(...args: unknown[]) {
    const a = RNN_SIG.bind(args);
    const nl = a.nonlinearity ?? 'tanh';
    super(nl === 'tanh' ? 'RNN_TANH' : 'RNN_RELU', ...recurrentArgs(a), 0, { dtype: a.dtype });
    this.nonlinearity = nl;
  }
  override forward(input: Tensor, hx?: Tensor | null): [output: Tensor, hN: Tensor] {
    const [out, [h]] = this._forward(input, hx ? [hx] : null);
    return [out, h];
  }
}

/**
 * Long short-term memory. forward(input, [h0, c0]?) → [output, [h_n, c_n]]; shapes as RNN's, with c (numLayers·D,
 * [N,] hiddenSize) and, when projSize > 0, h and the output of size projSize.
 */
export class LSTM extends RNNBase {
  constructor(
    inputSize: number,
    hiddenSize: number,
    numLayers?: number | LSTMOptions,
    bias?: boolean | LSTMOptions,
    batchFirst?: boolean | LSTMOptions,
    dropout?: number | LSTMOptions,
    bidirectional?: boolean | LSTMOptions,
    projSize?: number | LSTMOptions,
    opts?: LSTMOptions,
  );
  constructor(...args: unknown[]) {
    const a = LSTM_SIG.bind(args);
    super('LSTM', ...recurrentArgs(a), a.projSize ?? 0, { dtype: a.dtype });
  }
  override forward(input: Tensor, hx?: readonly [Tensor, Tensor] | null): [output: Tensor, hc: [Tensor, Tensor]] {
    const [out, [h, c]] = this._forward(input, hx ? [hx[0], hx[1]] : null);
    return [out, [h, c]];
  }
}

/** Gated recurrent unit (torch's formulation). forward(input, h0?) → [output, h_n]; shapes as RNN's. */
export class GRU extends RNNBase {
  constructor(
    inputSize: number,
    hiddenSize: number,
    numLayers?: number | RNNBaseOptions,
    bias?: boolean | RNNBaseOptions,
    batchFirst?: boolean | RNNBaseOptions,
    dropout?: number | RNNBaseOptions,
    bidirectional?: boolean | RNNBaseOptions,
    opts?: RNNBaseOptions,
  );
  constructor(...args: unknown[]) {
    const a = GRU_SIG.bind(args);
    super('GRU', ...recurrentArgs(a), 0, { dtype: a.dtype });
  }
  override forward(input: Tensor, hx?: Tensor | null): [output: Tensor, hN: Tensor] {
    const [out, [h]] = this._forward(input, hx ? [hx] : null);
    return [out, h];
  }
}

/** A layer's bound arguments in RNNBase's order, from inputSize to bidirectional. */
function recurrentArgs(a: {
  inputSize: number;
  hiddenSize: number;
  numLayers?: number;
  bias?: boolean;
  batchFirst?: boolean;
  dropout?: number;
  bidirectional?: boolean;
}): [number, number, number, boolean, boolean, number, boolean] {
  return [
    a.inputSize,
    a.hiddenSize,
    a.numLayers ?? 1,
    a.bias ?? true,
    a.batchFirst ?? false,
    a.dropout ?? 0,
    a.bidirectional ?? false,
  ];
}

/** torch's forward(input, hx=None): LSTM's hx is the pair [h0, c0]. */
const STATE = optional(nullable(tensor));
const PAIR = optional(nullable(tuple([tensor, tensor], 'a pair [h0, c0] of Tensors')));

RNN_BASE.describes(RNNBase);
RNN_SIG.describes(RNN);
LSTM_SIG.describes(LSTM);
GRU_SIG.describes(GRU);
checkMethods(RNN, { forward: { args: { input: tensor, hx: STATE } } });
checkMethods(LSTM, { forward: { args: { input: tensor, hx: PAIR } } });
checkMethods(GRU, { forward: { args: { input: tensor, hx: STATE } } });

// ---------------------------------------------------------------------------------------------------------------
// Cells: one step, the same recurrence

export interface RNNCellOptions {
  bias?: boolean;
  dtype?: DType;
}

const CELL = { inputSize: FEATURES, hiddenSize: SIZE, bias: optional(bool) };
/**
 * torch's RNNCellBase(input_size, hidden_size, bias, num_chunks, *, dtype), with the recurrence's mode ('RNN_TANH',
 * 'RNN_RELU', 'LSTM', 'GRU') first instead of num_chunks: the cell runs the mode's step, so it needs the mode, and
 * the mode gives the number of gates.
 */
const RNN_CELL_BASE = sig('RNNCellBase', { args: { mode: oneOf(MODES), ...CELL }, options: { dtype: FLOAT_DTYPE } });
/** torch.nn.RNNCell(input_size, hidden_size, bias=True, nonlinearity='tanh', *, dtype=None). */
const RNN_CELL = sig('RNNCell', { args: { ...CELL, nonlinearity: NONLINEARITY }, options: { dtype: FLOAT_DTYPE } });
/** torch.nn.LSTMCell and GRUCell(input_size, hidden_size, bias=True, *, dtype=None). */
const LSTM_CELL = sig('LSTMCell', { args: CELL, options: { dtype: FLOAT_DTYPE } });
const GRU_CELL = sig('GRUCell', { args: CELL, options: { dtype: FLOAT_DTYPE } });

/** torch's RNNCellBase: weight_ih, weight_hh, bias_ih, bias_hh (null without bias, so not in the state dict). */
export class RNNCellBase extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly bias: boolean;
  weight_ih: Tensor;
  weight_hh: Tensor;
  bias_ih: Tensor | null;
  bias_hh: Tensor | null;
  /** @internal */
  readonly _mode: Mode;

  constructor(
    mode: Mode,
    inputSize: number,
    hiddenSize: number,
    bias?: boolean | RNNCellOptions,
    opts?: RNNCellOptions,
  );
  constructor(...args: unknown[]) {
    super();
    const a = RNN_CELL_BASE.bind(args);
    const { mode, inputSize, hiddenSize } = a;
    const dtype = a.dtype ?? DEFAULT_FLOAT;
    const gateSize = GATES[mode] * hiddenSize;
    this._mode = mode;
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    this.bias = a.bias ?? true;
    this.weight_ih = uniformParameter([gateSize, inputSize], hiddenSize, dtype);
    this.weight_hh = uniformParameter([gateSize, hiddenSize], hiddenSize, dtype);
    this.bias_ih = this.bias ? uniformParameter([gateSize], hiddenSize, dtype) : null;
    this.bias_hh = this.bias ? uniformParameter([gateSize], hiddenSize, dtype) : null;
  }

  /** One checked step; input (N, H_in) or (H_in), states (N, H) or (H) as the input is batched or not. */
  _cell(input: Tensor, hx: Tensor[] | null): Tensor[] {
    const name = this.constructor.name;
    if (input.ndim !== 1 && input.ndim !== 2)
      throw new ShapeError(
        `${name}: input must be 2-D (batch, inputSize) or 1-D (inputSize) unbatched, got shape ${fmtShape(input.shape)}`,
      );
    const feat = input.shape[input.ndim - 1];
    if (feat !== this.inputSize)
      throw new ShapeError(
        `${name}: input has shape ${fmtShape(input.shape)}, whose last dim (${feat}) must equal inputSize ` +
          `(${this.inputSize}); give ${this.inputSize} features or build the cell with inputSize ${feat}`,
      );
    checkDtype(name, 'input', input, this.weight_ih);
    const unbatched = input.ndim === 1;
    const e = unbatched ? [this.hiddenSize] : [input.shape[0], this.hiddenSize];
    const names = this._mode === 'LSTM' ? ['h', 'c'] : ['hx'];
    hx?.forEach((t, i) => {
      if (t.ndim !== e.length || t.shape.some((s, j) => s !== e[j]))
        throw new ShapeError(
          `${name}: ${names[i]} has shape ${fmtShape(t.shape)} but must be ${fmtShape(e)} ` +
            `(${unbatched ? 'hiddenSize, as the input is 1-D' : 'batch, hiddenSize'}) for input of shape ` +
            `${fmtShape(input.shape)}`,
        );
      checkDtype(name, names[i], t, this.weight_ih);
    });
    const x = unbatched ? unsqueeze(input, 0) : input;
    const n = x.shape[0];
    const state = hx
      ? hx.map((t) => (unbatched ? unsqueeze(t, 0) : t))
      : names.map(() => zeros([n, this.hiddenSize], { dtype: x.dtype }));
    const gi = affine(x, transpose(this.weight_ih, 0, 1), this.bias_ih);
    const out = step(this._mode, gi, state, { whhT: transpose(this.weight_hh, 0, 1), bHh: this.bias_hh, whrT: null });
    return unbatched ? out.map((t) => squeeze(t, 0)) : out;
  }

  override extraRepr(): string {
    const parts = [`${this.inputSize}, ${this.hiddenSize}`];
    if (!this.bias) parts.push('bias=false');
    if (this._mode === 'RNN_RELU') parts.push('nonlinearity=relu');
    return parts.join(', ');
  }
}

export type RNNCellLayerOptions = RNNCellOptions & { nonlinearity?: Nonlinearity };

/** One Elman step: h' = tanh(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh) (or relu); h defaults to zeros. */
export class RNNCell extends RNNCellBase {
  readonly nonlinearity: Nonlinearity;
  constructor(
    inputSize: number,
    hiddenSize: number,
    bias?: boolean | RNNCellLayerOptions,
    nonlinearity?: Nonlinearity | RNNCellLayerOptions,
    opts?: RNNCellLayerOptions,
  );
  constructor(...args: unknown[]) {
    const a = RNN_CELL.bind(args);
    const nl = a.nonlinearity ?? 'tanh';
    super(nl === 'tanh' ? 'RNN_TANH' : 'RNN_RELU', a.inputSize, a.hiddenSize, a.bias ?? true, { dtype: a.dtype });
    this.nonlinearity = nl;
  }
  override forward(input: Tensor, hx?: Tensor | null): Tensor {
    return this._cell(input, hx ? [hx] : null)[0];
  }
}

/** One LSTM step: forward(input, [h, c]?) → [h', c']. */
export class LSTMCell extends RNNCellBase {
  constructor(inputSize: number, hiddenSize: number, bias?: boolean | RNNCellOptions, opts?: RNNCellOptions);
  constructor(...args: unknown[]) {
    const a = LSTM_CELL.bind(args);
    super('LSTM', a.inputSize, a.hiddenSize, a.bias ?? true, { dtype: a.dtype });
  }
  override forward(input: Tensor, hx?: readonly [Tensor, Tensor] | null): [h: Tensor, c: Tensor] {
    const [h, c] = this._cell(input, hx ? [hx[0], hx[1]] : null);
    return [h, c];
  }
}

/** One GRU step: forward(input, h?) → h'. */
export class GRUCell extends RNNCellBase {
  constructor(inputSize: number, hiddenSize: number, bias?: boolean | RNNCellOptions, opts?: RNNCellOptions);
  constructor(...args: unknown[]) {
    const a = GRU_CELL.bind(args);
    super('GRU', a.inputSize, a.hiddenSize, a.bias ?? true, { dtype: a.dtype });
  }
  override forward(input: Tensor, hx?: Tensor | null): Tensor {
    return this._cell(input, hx ? [hx] : null)[0];
  }
}

RNN_CELL_BASE.describes(RNNCellBase);
RNN_CELL.describes(RNNCell);
LSTM_CELL.describes(LSTMCell);
GRU_CELL.describes(GRUCell);
checkMethods(RNNCell, { forward: { args: { input: tensor, hx: STATE } } });
checkMethods(LSTMCell, {
  forward: { args: { input: tensor, hx: optional(nullable(tuple([tensor, tensor], 'a pair [h, c] of Tensors'))) } },
});
checkMethods(GRUCell, { forward: { args: { input: tensor, hx: STATE } } });
