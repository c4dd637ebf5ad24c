/**
 * @file The recurrent classifier of `adjoint train --model rnn`: an image read top to bottom, one row per time step,
 * by a GRU or an LSTM; the last layer's final hidden state goes through a Linear to the classes.
 */
import { GRU, Linear, LSTM, Module } from '../nn/index.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ImageShape } from './shape.js';

export type RecurrentCell = 'gru' | 'lstm';

/**
 * Rows as a sequence: [N, C, H, W] is read as H steps of C·W features. Parameters `rnn.weight_ih_l0`, …,
 * `fc.weight`, `fc.bias` (PyTorch: a module with `self.rnn = nn.GRU(W, hidden, batch_first=True)` and
 * `self.fc = nn.Linear(hidden, classes)`).
 */
export class RowRNN extends Module {
  rnn: GRU | LSTM;
  fc: Linear;
  readonly cell: RecurrentCell;

  constructor(input: ImageShape, hidden: number, cell: RecurrentCell = 'gru', numLayers = 1) {
    super();
    const features = input.channels * input.width;
    this.cell = cell;
    this.rnn =
      cell === 'lstm'
        ? new LSTM(features, hidden, { batchFirst: true, numLayers })
        : new GRU(features, hidden, { batchFirst: true, numLayers });
    this.fc = new Linear(hidden, input.classes);
  }

  override forward(x: Tensor): Tensor {
    const [n, c, h, w] = x.shape;
    // [N, C, H, W] → [N, H, C·W]: row r of every channel is time step r.
    const seq = x.permute([0, 2, 1, 3]).reshape([n, h, c * w]);
    const hN = this.rnn instanceof LSTM ? this.rnn.forward(seq)[1][0] : this.rnn.forward(seq)[1];
    const last = hN.shape[0] - 1;
    return this.fc.forward(hN.narrow(0, last, 1).squeeze(0));
  }
}
