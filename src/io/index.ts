/** @file (being written) safetensors read/write and atomic training checkpoints */
export {};
