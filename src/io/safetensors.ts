/**
 * @file safetensors read and write (Hugging Face's format, what `safetensors.torch.save_file` writes): an 8-byte
 * little-endian header length, a JSON header naming each tensor's dtype, shape and byte range, then the raw
 * little-endian data. Written exactly as the safetensors library writes it (tensors ordered by dtype alignment, then
 * name; header padded with spaces to 8 bytes), so files are byte-identical to PyTorch's for the same state dict.
 * Reading checks every offset and size before any tensor is built, and errors name the key and the byte.
 */
import { any, checked, fn, instance, int, nullable, optional, record, str, union } from '../core/args.js';
import { type DType, INT64_MAX, type TypedArray } from '../core/dtype.js';
import { AdjointError, DTypeError, fmtShape, ValueError } from '../core/errors.js';
import { numel } from '../core/shape.js';
import { fromTypedArray, Tensor } from '../tensor/tensor.js';
import { type WriteOptions, writeFileAtomic } from './atomic.js';
import { nodeFs, showPath } from './node.js';

/** The dtypes of a safetensors header that adjoint reads (the format has more: U16, U32, U64, F8_*, ...). */
export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const SIZE: Record<SafetensorsDType, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/**
 * The safetensors crate's Dtype enum order ("increasing alignment"): writers sort tensors by it, descending, then by
 * name. Only the relative order matters; dtypes adjoint does not read are listed so the order is the crate's.
 */
const ALIGN_ORDER = [
  'BOOL',
  'U8',
  'I8',
  'F8_E5M2',
  'F8_E4M3',
  'I16',
  'U16',
  'F16',
  'BF16',
  'I32',
  'U32',
  'F32',
  'F64',
  'I64',
  'U64',
];

/** Which file dtype each of our dtypes is written as by default, and what each file dtype becomes on load. */
const DEFAULT_FILE_DTYPE: Record<DType, SafetensorsDType> = {
  float64: 'F64',
  float32: 'F32',
  int64: 'I64',
  int32: 'I32',
  bool: 'BOOL',
};
const LOADED_AS: Record<SafetensorsDType, DType> = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float32',
  BF16: 'float32',
  I64: 'int64',
  I32: 'int32',
  I16: 'int32',
  I8: 'int32',
  U8: 'int32',
  BOOL: 'bool',
};
/** The file dtypes a tensor of each of our dtypes may be written as. */
const WRITABLE: Record<DType, SafetensorsDType[]> = {
  float64: ['F64', 'F32', 'F16', 'BF16'],
  float32: ['F32', 'F64', 'F16', 'BF16'],
  int64: ['I64', 'I32', 'I16', 'I8', 'U8'],
  int32: ['I32', 'I64', 'I16', 'I8', 'U8'],
  bool: ['BOOL'],
};

/** The safetensors library refuses headers above 100 MB; so do we, before allocating anything for one. */
const MAX_HEADER = 100_000_000;
/**
 * Bounds on a header's structure, checked by one pass over its text before JSON.parse builds anything from it, so a
 * pathological header costs time in proportion to its length and fails with the limit named, instead of overflowing
 * the stack (a shape nested millions deep) or building millions of objects (entries of zero-size tensors).
 */
export const HEADER_LIMITS = Object.freeze({
  /** JSON nesting: serde_json's recursion limit, which the safetensors library parses with (the format needs 3). */
  depth: 128,
  /** Tensor entries in one file: far above real checkpoints (a few thousand tensors per file at most). */
  tensors: 100_000,
  /** Dimensions of one tensor's shape. */
  rank: 64,
} as const);

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export interface TensorInfo {
  dtype: SafetensorsDType;
  shape: number[];
  /** [start, end) in bytes, counted from the first byte after the header. */
  dataOffsets: [number, number];
}

export interface Header {
  /** The optional `__metadata__` map (string to string), or null. */
  metadata: Record<string, string> | null;
  /** Tensor entries in file order (by offset). */
  tensors: [string, TensorInfo][];
  /** The file byte where the data section starts (8 + header length). */
  dataStart: number;
}

export interface SaveOptions {
  /**
   * The file dtype to write each of our dtypes as, e.g. `{float32: 'BF16', int32: 'I64'}` (defaults: float64 → F64,
   * float32 → F32, int64 → I64, int32 → I32, bool → BOOL), or a function of the key and tensor choosing per tensor.
   * F16/BF16 round to nearest even, as PyTorch's .half() / .bfloat16(); I64 sign-extends; I32 (for int64), I16, I8
   * and U8 are range-checked.
   */
  as?: Partial<Record<DType, SafetensorsDType>> | ((key: string, t: Tensor) => SafetensorsDType | undefined);
}

// ----- writing --------------------------------------------------------------------------------------------------

/** Compares as Rust's String ordering does (UTF-8 bytes, i.e. code points), not by UTF-16 units as JS's `<` does. */
function compareCodePoints(a: string, b: string): number {
  const A = [...a];
  const B = [...b];
  for (let i = 0; i < Math.min(A.length, B.length); i++) {
    const d = (A[i].codePointAt(0) as number) - (B[i].codePointAt(0) as number);
    if (d) return d;
  }
  return A.length - B.length;
}

/** A JSON object with keys in the given order (JS objects would move integer-like keys such as "0" first). */
function jsonObject(entries: [string, string][]): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
}

/** The bytes of a safetensors file holding `tensors` (safetensors.torch.save). */
function saveFn(
  tensors: Record<string, Tensor>,
  metadata: Record<string, string> | null = null,
  opts: SaveOptions = {},
): Uint8Array {
  return encode('save', tensors, metadata, opts);
}

/** Writes tensors to a safetensors file (safetensors.torch.save_file), atomically: see writeFileAtomic. */
function saveFileFn(
  tensors: Record<string, Tensor>,
  path: string,
  metadata: Record<string, string> | null = null,
  opts: SaveOptions & WriteOptions = {},
): void {
  writeFileAtomic('saveFile', path, encode('saveFile', tensors, metadata, opts), opts);
}

/** @internal shared by save, saveFile and checkpoints. */
export function encode(
  op: string,
  tensors: Record<string, Tensor>,
  metadata: Record<string, string> | null,
  opts: SaveOptions,
): Uint8Array {
  if (tensors === null || typeof tensors !== 'object')
    throw new ValueError(`${op}: tensors must be an object mapping names to tensors, got ${typeof tensors}`);
  const items: { name: string; t: Tensor; dtype: SafetensorsDType }[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    if (name === '__metadata__')
      throw new ValueError(`${op}: '__metadata__' is reserved by the format; pass metadata as the metadata argument`);
    if (!(t instanceof Tensor))
      throw new ValueError(`${op}: the value for '${name}' is ${describe(t)}, not a Tensor; only tensors can be saved`);
    const chosen = typeof opts.as === 'function' ? opts.as(name, t) : opts.as?.[t.dtype];
    const dtype = chosen ?? DEFAULT_FILE_DTYPE[t.dtype];
    if (!WRITABLE[t.dtype].includes(dtype))
      throw new DTypeError(
        `${op}: cannot write '${name}' (${t.dtype}) as ${dtype}; a ${t.dtype} tensor can be written as ` +
          `${WRITABLE[t.dtype].join(', ')}`,
      );
    items.push({ name, t, dtype });
  }
  if (metadata !== null && metadata !== undefined) {
    if (typeof metadata !== 'object') throw new ValueError(`${op}: metadata must be an object of strings`);
    for (const [k, v] of Object.entries(metadata))
      if (typeof v !== 'string')
        throw new ValueError(
          `${op}: metadata '${k}' is ${describe(v)}; the format stores only strings (use JSON.stringify for others)`,
        );
  }
  items.sort(
    (a, b) => ALIGN_ORDER.indexOf(b.dtype) - ALIGN_ORDER.indexOf(a.dtype) || compareCodePoints(a.name, b.name),
  );
  const entries: [string, string][] = [];
  if (metadata) {
    const meta = Object.entries(metadata).sort(([a], [b]) => compareCodePoints(a, b));
    entries.push(['__metadata__', jsonObject(meta.map(([k, v]) => [k, JSON.stringify(v)]))]);
  }
  let offset = 0;
  const payloads: Uint8Array[] = [];
  for (const { name, t, dtype } of items) {
    const bytes = encodeData(op, name, t, dtype);
    const info = `{"dtype":"${dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${offset + bytes.length}]}`;
    entries.push([name, info]);
    payloads.push(bytes);
    offset += bytes.length;
  }
  let header = new TextEncoder().encode(jsonObject(entries));
  // Padded with spaces so the data starts 8-byte aligned, as the safetensors library does.
  const pad = (8 - (header.length % 8)) % 8;
  if (pad) {
    const padded = new Uint8Array(header.length + pad).fill(0x20);
    padded.set(header);
    header = padded;
  }
  const out = new Uint8Array(8 + header.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  let at = 8 + header.length;
  for (const p of payloads) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return `a ${(v as object).constructor?.name ?? 'object'}`;
  return `${typeof v} ${String(v)}`;
}

/** A tensor's elements as little-endian bytes of the file dtype. */
function encodeData(op: string, name: string, t: Tensor, dtype: SafetensorsDType): Uint8Array {
  const src = t.dataSync();
  const n = src.length;
  const range = {
    I32: t.dtype === 'int32' ? undefined : [-(2 ** 31), 2 ** 31 - 1],
    I16: [-32768, 32767],
    I8: [-128, 127],
    U8: [0, 255],
  }[dtype as 'I32' | 'I16' | 'I8' | 'U8'];
  if (range)
    for (let i = 0; i < n; i++)
      if (src[i] < range[0] || src[i] > range[1])
        throw new DTypeError(
          `${op}: '${name}' holds ${src[i]} at element ${i}, outside ${dtype}'s range [${range[0]}, ${range[1]}]; ` +
            `write it as ${t.dtype === 'int64' ? 'I64' : 'I32'}`,
        );
  const out = new Uint8Array(n * SIZE[dtype]);
  const dv = new DataView(out.buffer);
  switch (dtype) {
    case 'F64':
      for (let i = 0; i < n; i++) dv.setFloat64(i * 8, src[i], true);
      break;
    case 'F32':
      for (let i = 0; i < n; i++) dv.setFloat32(i * 4, src[i], true);
      break;
    case 'F16':
      for (let i = 0; i < n; i++) dv.setUint16(i * 2, toHalf(src[i]), true);
      break;
    case 'BF16':
      for (let i = 0; i < n; i++) dv.setUint16(i * 2, toBFloat16(src[i]), true);
      break;
    case 'I64':
      // Two's complement in two words: the high word is ⌊v / 2³²⌋ and the low word what is left (exact, |v| < 2⁵³).
      for (let i = 0; i < n; i++) {
        const hi = Math.floor(src[i] / 2 ** 32);
        dv.setUint32(i * 8, src[i] - hi * 2 ** 32, true);
        dv.setInt32(i * 8 + 4, hi, true);
      }
      break;
    case 'I32':
      for (let i = 0; i < n; i++) dv.setInt32(i * 4, src[i], true);
      break;
    case 'I16':
      for (let i = 0; i < n; i++) dv.setInt16(i * 2, src[i], true);
      break;
    case 'I8':
      for (let i = 0; i < n; i++) dv.setInt8(i, src[i]);
      break;
    case 'U8':
      for (let i = 0; i < n; i++) out[i] = src[i];
      break;
    case 'BOOL':
      for (let i = 0; i < n; i++) out[i] = src[i] ? 1 : 0;
      break;
    default:
      throw new DTypeError(`save: writing ${dtype} is not supported`);
  }
  return out;
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** IEEE half bits of v, rounded to nearest even from the exact value (one rounding, as PyTorch's .half()). */
export function toHalf(v: number): number {
  if (Number.isNaN(v)) return 0x7e00;
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  // 65520 is halfway between the largest half, 65504, and 2^16: ties to even round it up to infinity.
  if (a >= 65520) return sign | 0x7c00;
  // Subnormals count in units of 2^-24; a result of 1024 carries into the smallest normal, which the bits encode.
  if (a < 2 ** -14) return sign | roundHalfEven(a * 2 ** 24);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  let m = roundHalfEven((a / 2 ** e - 1) * 1024);
  if (m === 1024) {
    m = 0;
    e++;
  }
  if (e > 15) return sign | 0x7c00;
  return sign | ((e + 15) << 10) | m;
}

export function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/**
 * bfloat16 bits of v: to float32 first, then round to nearest even on the top 16 bits (c10::BFloat16's rule). NaN
 * becomes the canonical quiet NaN 0x7FC0, as c10's scalar conversion gives; PyTorch 1.13's vectorized tensor
 * conversion writes 0xFFFF instead. Both are NaN.
 */
export function toBFloat16(v: number): number {
  F32[0] = v;
  const u = U32[0];
  if (Number.isNaN(F32[0])) return 0x7fc0;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

export function fromBFloat16(b: number): number {
  U32[0] = b << 16;
  return F32[0];
}

// ----- reading --------------------------------------------------------------------------------------------------

/** The tensors of a safetensors file's bytes (safetensors.torch.load). */
function loadFn(bytes: Uint8Array): Record<string, Tensor> {
  return decode('load', bytes, 'the data').tensors;
}

/** The tensors and the `__metadata__` map (null when absent) of a safetensors file's bytes. */
function loadWithMetadataFn(bytes: Uint8Array): {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string> | null;
} {
  return decode('loadWithMetadata', bytes, 'the data');
}

/** The tensors of a safetensors file (safetensors.torch.load_file). */
function loadFileFn(path: string | URL): Record<string, Tensor> {
  return decode('loadFile', readFile('loadFile', path), showPath(path)).tensors;
}

/** The tensors and `__metadata__` of a safetensors file. */
function loadFileWithMetadataFn(path: string | URL): {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string> | null;
} {
  return decode('loadFileWithMetadata', readFile('loadFileWithMetadata', path), showPath(path));
}

/** @internal */
export function readFile(op: string, path: string | URL): Uint8Array {
  const fs = nodeFs(op);
  try {
    return fs.readFileSync(path);
  } catch (e) {
    throw new AdjointError(`${op}: cannot read ${showPath(path)}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * The validated header of a safetensors file's bytes: every entry's dtype, shape and offsets checked against each
 * other and against the file's length, as the safetensors library checks them.
 */
function readHeaderFn(bytes: Uint8Array): Header {
  return parseHeader(bytes, 'readHeader', 'the data');
}

function parseHeader(bytes: Uint8Array, op: string, what: string): Header {
  const fail = (msg: string): never => {
    throw new ValueError(`${op}: ${what} is not a valid safetensors file: ${msg}`);
  };
  if (!(bytes instanceof Uint8Array)) fail('expected a Uint8Array of the file bytes');
  if (bytes.length < 8)
    fail(`it is ${bytes.length} bytes long, shorter than the 8-byte header length every file starts with (truncated)`);
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER))
    fail(`the header length at byte 0 is ${n64} bytes, above the format's limit of ${MAX_HEADER} (corrupt length)`);
  const n = Number(n64);
  if (8 + n > bytes.length)
    fail(
      `the header length at byte 0 is ${n} bytes, but only ${bytes.length - 8} bytes follow it (the file is ` +
        `truncated, or the length is corrupt)`,
    );
  // The format: the header begins with '{'. A byte-order mark or leading whitespace is rejected, as the safetensors
  // library rejects it (InvalidHeaderStart): TextDecoder would drop a BOM silently, and parsers that disagree on
  // what a header says are how the Trail of Bits audit smuggled tensors past checkers.
  if (n >= 3 && bytes[8] === 0xef && bytes[9] === 0xbb && bytes[10] === 0xbf)
    fail('the header (byte 8) begins with a UTF-8 byte-order mark (EF BB BF); the format requires it to begin with {');
  if (n === 0 || bytes[8] !== 0x7b)
    fail(
      n === 0
        ? 'the header is empty; it must be a JSON object'
        : `the header is not a JSON object beginning with { (byte 8 is 0x${bytes[8].toString(16).padStart(2, '0')}` +
            `${bytes[8] >= 0x20 && bytes[8] < 0x7f ? ` '${String.fromCharCode(bytes[8])}'` : ''}); the format allows ` +
            'no byte-order mark or whitespace before it',
    );
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    return fail(`the header (bytes 8 to ${8 + n}) is not valid UTF-8`);
  }
  scanHeader(text, fail);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return fail(`the header (bytes 8 to ${8 + n}) is not valid JSON: ${(e as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    fail(`the header (bytes 8 to ${8 + n}) is ${describe(json)}, not a JSON object`);
  let metadata: Record<string, string> | null = null;
  const tensors: [string, TensorInfo][] = [];
  for (const [key, raw] of Object.entries(json as Record<string, unknown>)) {
    if (key === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(raw as object))
        if (typeof v !== 'string') fail(`__metadata__ entry '${k}' is ${describe(v)}, but metadata values are strings`);
      metadata = Object.fromEntries(Object.entries(raw as Record<string, string>));
      continue;
    }
    const e = raw as Record<string, unknown>;
    if (e === null || typeof e !== 'object' || Array.isArray(e)) fail(`the entry for tensor '${key}' is not an object`);
    const { dtype, shape, data_offsets: off } = e;
    if (typeof dtype !== 'string' || !Object.hasOwn(SIZE, dtype))
      fail(
        `tensor '${key}' has dtype ${quote(dtype)}, which adjoint does not read; supported: ` +
          `${Object.keys(SIZE).join(', ')}`,
      );
    if (!Array.isArray(shape) || !shape.every((s) => Number.isSafeInteger(s) && s >= 0))
      fail(`tensor '${key}' has shape ${quote(shape)}; a shape is a list of non-negative integers`);
    if (!Array.isArray(off) || off.length !== 2 || !off.every((s) => Number.isSafeInteger(s) && s >= 0))
      fail(`tensor '${key}' has data_offsets ${quote(off)}; expected [start, end] byte offsets`);
    const [s, e2] = off as number[];
    tensors.push([key, { dtype: dtype as SafetensorsDType, shape: shape as number[], dataOffsets: [s, e2] }]);
  }
  const byOffset = (a: [string, TensorInfo], b: [string, TensorInfo]) =>
    a[1].dataOffsets[0] - b[1].dataOffsets[0] || a[1].dataOffsets[1] - b[1].dataOffsets[1];
  // Writers put entries in offset order (the safetensors library and ours do): sort only when they are not.
  let sorted = true;
  for (let i = 1; i < tensors.length && sorted; i++) sorted = byOffset(tensors[i - 1], tensors[i]) <= 0;
  if (!sorted) tensors.sort(byOffset);
  const dataStart = 8 + n;
  let end = 0;
  let prev = '';
  for (const [key, info] of tensors) {
    const { dtype, shape } = info;
    const s = info.dataOffsets[0];
    const e = info.dataOffsets[1];
    if (s !== end)
      fail(
        `tensor '${key}' starts at data byte ${s} (file byte ${dataStart + s}), but ` +
          (prev ? `the tensor before it, '${prev}', ends at data byte ${end}` : 'the first tensor must start at 0') +
          `: the offsets ${s < end ? 'overlap' : 'leave a gap'}`,
      );
    const want = numel(shape) * SIZE[dtype];
    if (e - s !== want)
      fail(
        `tensor '${key}' (${dtype}, shape ${fmtShape(shape)}) needs ${want} bytes, but its data_offsets [${s}, ${e}] ` +
          `span ${e - s}`,
      );
    end = e;
    prev = key;
  }
  if (dataStart + end !== bytes.length) {
    const last = prev ? `the last tensor, '${prev}', ends at file byte ${dataStart + end}` : 'it holds no tensor data';
    fail(
      dataStart + end > bytes.length
        ? `${last}, but the file has only ${bytes.length} bytes (truncated: ${dataStart + end - bytes.length} missing)`
        : `${last}, but the file has ${bytes.length - dataStart - end} more bytes after it (trailing garbage)`,
    );
  }
  return { metadata, tensors, dataStart };
}

/** A JSON value for a message, cut short: a hostile header's value may be megabytes long. */
function quote(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 79)}…` : s;
}

/**
 * One pass over the header's text that enforces what JSON.parse does not: no key twice in one object (the format
 * forbids duplicates, since parsers disagree on which one counts), nesting at most HEADER_LIMITS.depth, at most
 * HEADER_LIMITS.tensors entries, shapes of at most HEADER_LIMITS.rank dims. It reads only the structure (strings,
 * brackets, commas); JSON.parse then checks the syntax in full, so on text that is not JSON either error may come
 * first, and on JSON the scan is exact.
 */
function scanHeader(text: string, fail: (msg: string) => never): void {
  const { depth: maxDepth, tensors: maxTensors, rank: maxRank } = HEADER_LIMITS;
  // One entry per open container: whether it is an object, its keys so far, the key it sits under, and (arrays)
  // how many commas it has seen.
  const isObject: boolean[] = [];
  const keys: (string[] | Set<string>)[] = [];
  const under: (string | null)[] = [];
  const commas: number[] = [];
  let expectKey = false;
  let lastKey: string | null = null;
  let members = 0;
  const where = () => {
    const path = under.slice(1).filter((k) => k !== null);
    return path.length ? ` in the entry ${path.map((k) => `'${k}'`).join(' → ')}` : ' at the top level';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      let j = i + 1;
      let escaped = false;
      for (; j < text.length; j++) {
        const d = text.charCodeAt(j);
        if (d === 0x5c) {
          escaped = true;
          j++;
        } else if (d === 0x22) break;
      }
      const top = isObject.length - 1;
      if (top >= 0 && isObject[top] && expectKey) {
        let key = text.slice(i + 1, j);
        if (escaped)
          try {
            key = JSON.parse(text.slice(i, j + 1)) as string;
          } catch {
            fail('the header is not valid JSON: a key has a bad escape');
          }
        const seen = keys[top];
        if (Array.isArray(seen) ? seen.includes(key) : seen.has(key))
          fail(
            `the key '${key}' appears twice${where()}; the format forbids duplicate keys (parsers disagree on which ` +
              'one counts, so a file could load differently elsewhere)',
          );
        if (Array.isArray(seen) && seen.length >= 16) keys[top] = new Set([...seen, key]);
        else if (Array.isArray(seen)) seen.push(key);
        else seen.add(key);
        if (top === 0 && key !== '__metadata__' && ++members > maxTensors)
          fail(
            `it has more than ${maxTensors} tensor entries, the most adjoint reads from one file ` +
              '(ad.io.HEADER_LIMITS.tensors)',
          );
        lastKey = key;
        expectKey = false;
      }
      i = j;
      continue;
    }
    if (c === 0x7b || c === 0x5b) {
      if (isObject.length >= maxDepth)
        fail(
          `it nests deeper than ${maxDepth} levels${where()}, the most the format's reader allows ` +
            '(ad.io.HEADER_LIMITS.depth)',
        );
      const parentIsObject = isObject.length > 0 && isObject[isObject.length - 1];
      isObject.push(c === 0x7b);
      keys.push([]);
      under.push(parentIsObject ? lastKey : null);
      commas.push(0);
      expectKey = c === 0x7b;
    } else if (c === 0x7d || c === 0x5d) {
      isObject.pop();
      keys.pop();
      under.pop();
      commas.pop();
      expectKey = false;
    } else if (c === 0x2c) {
      const top = isObject.length - 1;
      if (top < 0) continue;
      if (isObject[top]) expectKey = true;
      else if (top === 2 && under[top] === 'shape' && ++commas[top] >= maxRank)
        fail(
          `tensor '${under[1]}' has a shape of more than ${maxRank} dimensions, the most adjoint reads ` +
            '(ad.io.HEADER_LIMITS.rank)',
        );
    }
  }
}

/** @internal */
export function decode(
  op: string,
  bytes: Uint8Array,
  what: string,
): { tensors: Record<string, Tensor>; metadata: Record<string, string> | null } {
  const header = parseHeader(bytes, op, what);
  const entries: [string, Tensor][] = [];
  for (const [key, info] of header.tensors) {
    const start = header.dataStart + info.dataOffsets[0];
    const data = decodeData(op, what, key, info, bytes.subarray(start, header.dataStart + info.dataOffsets[1]), start);
    entries.push([key, fromTypedArray(data, info.shape, LOADED_AS[info.dtype])]);
  }
  // fromEntries defines own properties, so a tensor named "__proto__" is a key like any other.
  return { tensors: Object.fromEntries(entries), metadata: header.metadata };
}

function decodeData(
  op: string,
  what: string,
  key: string,
  info: TensorInfo,
  raw: Uint8Array,
  fileOffset: number,
): TypedArray {
  const n = numel(info.shape);
  // A copy into a fresh, aligned buffer (not raw.slice(): on a Node Buffer that is a view), so typed arrays can view
  // it when the host is little-endian.
  const aligned = new Uint8Array(raw);
  const dv = new DataView(aligned.buffer);
  switch (info.dtype) {
    case 'F64': {
      if (LITTLE_ENDIAN) return new Float64Array(aligned.buffer);
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true);
      return out;
    }
    case 'F32': {
      if (LITTLE_ENDIAN) return new Float32Array(aligned.buffer);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
      return out;
    }
    case 'F16':
    case 'BF16': {
      const out = new Float32Array(n);
      const f = info.dtype === 'F16' ? fromHalf : fromBFloat16;
      for (let i = 0; i < n; i++) out[i] = f(dv.getUint16(i * 2, true));
      return out;
    }
    case 'I64': {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        // hi·2³² is exact; the sum rounds only past 2⁵³, where the value is out of range anyway.
        const v = dv.getInt32(i * 8 + 4, true) * 2 ** 32 + dv.getUint32(i * 8, true);
        if (!(Math.abs(v) <= INT64_MAX))
          throw new DTypeError(
            `${op}: ${what}: tensor '${key}' (I64, shape ${fmtShape(info.shape)}) holds ${dv.getBigInt64(i * 8, true)} ` +
              `at element ${i} (file byte ${fileOffset + i * 8}), outside ±(2^53 − 1) = ±${INT64_MAX}: adjoint's ` +
              'int64 is stored in float64, which holds integers exactly only up to there, so the file cannot load ' +
              'without losing digits',
          );
        out[i] = v;
      }
      return out;
    }
    case 'I32': {
      if (LITTLE_ENDIAN) return new Int32Array(aligned.buffer);
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getInt32(i * 4, true);
      return out;
    }
    case 'I16': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getInt16(i * 2, true);
      return out;
    }
    case 'I8':
      return Int32Array.from(new Int8Array(aligned.buffer));
    case 'U8':
      return Int32Array.from(aligned);
    case 'BOOL': {
      for (let i = 0; i < n; i++)
        if (aligned[i] > 1)
          throw new ValueError(
            `${op}: ${what}: tensor '${key}' (BOOL) has byte value ${aligned[i]} at element ${i} (file byte ` +
              `${fileOffset + i}); booleans are stored as 0 or 1, so the file is corrupt`,
          );
      return aligned;
    }
  }
}

// ----- the public functions, with their declared parameters (safetensors.torch's names) -------------------------

// Each entry is checked by encode, whose message names the key.
const TENSORS = record(any, 'an object of Tensors by name');
const METADATA = optional(nullable(record(any, 'an object of strings (safetensors metadata holds strings only)')));
const AS = optional(union(record(str, 'an object of file dtypes by dtype'), fn));
const BYTES = instance(Uint8Array, 'the bytes of a safetensors file (a Uint8Array or Buffer)');
const PATH = union(str, instance(URL, 'a file URL'));
/** What writeFileAtomic takes, for every function that writes a file. */
export const WRITE_OPTIONS = { chunkSize: optional(int({ min: 1 })), onProgress: optional(fn) };

export const save = checked('save', { args: { tensors: TENSORS, metadata: METADATA }, options: { as: AS } }, saveFn);
export const saveFile = checked(
  'saveFile',
  { args: { tensors: TENSORS, filename: str, metadata: METADATA }, options: { as: AS, ...WRITE_OPTIONS } },
  saveFileFn,
);
export const load = checked('load', { args: { data: BYTES } }, loadFn);
export const loadWithMetadata = checked('loadWithMetadata', { args: { data: BYTES } }, loadWithMetadataFn);
export const readHeader = checked('readHeader', { args: { data: BYTES } }, readHeaderFn);
export const loadFile = checked('loadFile', { args: { filename: PATH } }, loadFileFn);
export const loadFileWithMetadata = checked(
  'loadFileWithMetadata',
  { args: { filename: PATH } },
  loadFileWithMetadataFn,
);
