/**
 * @file `ad.io`: safetensors files (PyTorch-compatible weights) and atomic training checkpoints. File functions use
 * Node's fs through process.getBuiltinModule at call time, so importing this in a browser is safe; there the
 * in-memory forms (save, load, loadWithMetadata, readHeader) work on bytes.
 */
export type { WriteOptions } from './atomic.js';
export * from './checkpoint.js';
export {
  HEADER_LIMITS,
  type Header,
  load,
  loadFile,
  loadFileWithMetadata,
  loadWithMetadata,
  readHeader,
  type SafetensorsDType,
  type SaveOptions,
  save,
  saveFile,
  type TensorInfo,
} from './safetensors.js';
