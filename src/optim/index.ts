/** @file (being written) torch.optim: optimizers, learning-rate schedulers, gradient clipping */
export {};
