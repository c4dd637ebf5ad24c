/**
 * @file nn.Dropout: inverted dropout in training (train()), the identity in eval (eval()), seeded by ad.manualSeed.
 */
import { bool, checkMethods, optional, sig, tensor } from '../core/args.js';
import { dropout } from '../ops/nnops.js';
import type { Tensor } from '../tensor/tensor.js';
import { PROB } from './args.js';
import { Module } from './module.js';

/** A float as Python's repr prints it (0.5, 1.0, 1e-05), for reprs that match PyTorch's. */
function pyFloat(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e16) return v.toFixed(1);
  if (v !== 0 && Math.abs(v) < 1e-4) return v.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  return String(v);
}

/** torch.nn.Dropout(p=0.5, inplace=False). */
const DROPOUT = sig('Dropout', { args: { p: optional(PROB), inplace: optional(bool) } });

/**
 * Zeroes each element with probability p in training and scales the rest by 1/(1 − p), so eval mode is the identity
 * (torch.nn.Dropout). inplace writes the result into the input.
 */
export class Dropout extends Module {
  readonly p: number;
  readonly inplace: boolean;
  constructor(p?: number | { p?: number; inplace?: boolean }, inplace?: boolean | { inplace?: boolean });
  constructor(...args: unknown[]) {
    super();
    const a = DROPOUT.bind(args);
    this.p = a.p ?? 0.5;
    this.inplace = a.inplace ?? false;
  }
  override forward(input: Tensor): Tensor {
    return dropout(input, this.p, this.training, this.inplace);
  }
  override extraRepr(): string {
    return `p=${pyFloat(this.p)}, inplace=${this.inplace ? 'True' : 'False'}`;
  }
}

DROPOUT.describes(Dropout);
checkMethods(Dropout, { forward: { args: { input: tensor } } });
