/** @file (being written) torch.nn.functional: F.crossEntropy, F.relu, ... */
export {};
