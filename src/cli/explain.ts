/**
 * @file `adjoint explain`: builds an MLP with named tensors (X, W1, b1, H1 = X·W1 + b1, A1 = act(H1), …, the
 * logits, the targets T and the loss L), runs its forward pass, and prints what ad.explain reads from the recorded
 * graph: the forward ops and the backward pass as adjoint equations with shapes, in the order backward runs them.
 * With --dot it prints ad.toDot's Graphviz text instead. Nothing is trained and backward never runs.
 */
import * as ad from '../index.js';
import type { Style } from './term.js';

export type ExplainActivation = 'relu' | 'sigmoid' | 'tanh' | 'gelu';
export type ExplainLoss = 'cross-entropy' | 'mse';

export interface ExplainCliOptions {
  /** Layer widths: 784,512,10 is X [batch×784] → 512 → 10 logits. */
  widths: number[];
  activation: ExplainActivation;
  batch: number;
  loss: ExplainLoss;
  dot: boolean;
  seed: number;
}

export const EXPLAIN_DEFAULTS: ExplainCliOptions = {
  widths: [784, 512, 10],
  activation: 'relu',
  batch: 128,
  loss: 'cross-entropy',
  dot: false,
  seed: 0,
};

const ACTIVATIONS: Record<ExplainActivation, (h: ad.Tensor) => ad.Tensor> = {
  relu: (h) => h.relu(),
  sigmoid: (h) => h.sigmoid(),
  tanh: (h) => h.tanh(),
  gelu: (h) => ad.gelu(h),
};

function named(t: ad.Tensor, name: string): ad.Tensor {
  t.name = name;
  return t;
}

/** The MLP's forward pass with every tensor named; returns the loss and the named tensors. */
export function buildMlp(o: ExplainCliOptions): { loss: ad.Tensor; tensors: ad.Tensor[] } {
  ad.manualSeed(o.seed);
  const L = o.widths.length - 1;
  const tensors: ad.Tensor[] = [];
  const keep = (t: ad.Tensor, name: string) => {
    tensors.push(named(t, name));
    return t;
  };
  let h = keep(ad.randn([o.batch, o.widths[0]]), 'X');
  for (let l = 1; l <= L; l++) {
    const W = keep(
      ad
        .randn([o.widths[l - 1], o.widths[l]])
        .mul(1 / Math.sqrt(o.widths[l - 1]))
        .requiresGrad_(),
      `W${l}`,
    );
    const b = keep(ad.zeros([o.widths[l]]).requiresGrad_(), `b${l}`);
    const z = keep(h.matmul(W).add(b), `H${l}`);
    h = l < L ? keep(ACTIVATIONS[o.activation](z), `A${l}`) : z;
  }
  const classes = o.widths[L];
  const target =
    o.loss === 'cross-entropy' ? keep(ad.randint(0, classes, [o.batch]), 'T') : keep(ad.randn([o.batch, classes]), 'T');
  const loss = o.loss === 'cross-entropy' ? ad.F.crossEntropy(h, target) : ad.F.mseLoss(h, target);
  return { loss: keep(loss, 'L'), tensors };
}

/** Prints the explanation (or the DOT text); returns the exit status. */
export function runExplain(o: ExplainCliOptions, print: (s?: string) => void, style: Style): number {
  const { loss, tensors } = buildMlp(o);
  if (o.dot) {
    print(ad.toDot(loss, { tensors, title: `mlp ${o.widths.join('-')}` }).trimEnd());
    return 0;
  }
  const L = o.widths.length - 1;
  const lossText = o.loss === 'cross-entropy' ? 'crossEntropy(H, T)' : 'mseLoss(H, T)';
  print(
    style.bold(
      `adjoint explain   MLP ${o.widths.join('→')}, ${o.activation}, batch ${o.batch}, L = ${lossText.replace('H', `H${L}`)}`,
    ),
  );
  print(
    style.dim(
      `  H_l = A_(l−1)·W_l + b_l (A_0 = X), A_l = ${o.activation}(H_l); tensors named with tensor.name, the rest t1, t2, …`,
    ),
  );
  print();
  for (const line of ad.explain(loss, { tensors }).toString().split('\n'))
    print(/^(Forward|Backward)/.test(line) ? style.bold(line) : line);
  print();
  print(
    style.dim(
      "  Each backward line applies one op's adjoint to a gradient computed above it: ·Wᵀ and Xᵀ· for matmul, Σ_rows for a\n" +
        '  bias broadcast over the batch, ⊙ f′ for an activation. dW and db land in W.grad and b.grad.',
    ),
  );
  return 0;
}
