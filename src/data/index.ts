/** @file (being written) torch.utils.data: Dataset, DataLoader, and the digits / Fashion-MNIST datasets */
export {};
