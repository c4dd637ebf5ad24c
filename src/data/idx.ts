/**
 * @file The IDX format of MNIST and Fashion-MNIST (gzip or raw): a big-endian magic 0x0000TTDD (type code TT, DD
 * dims), DD big-endian uint32 sizes, then the elements, big-endian. Every size is checked against the bytes there,
 * and errors name the file, what was expected and what was found.
 */
import { checked, custom, instance, int, oneOf, optional, shape as shapeArg, str, union } from '../core/args.js';
import { AdjointError, ValueError } from '../core/errors.js';
import { maybeGunzip, nodeFs, showPath } from '../io/node.js';

export type IdxType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

const TYPES: Record<number, { type: IdxType; bytes: number }> = {
  8: { type: 'uint8', bytes: 1 },
  9: { type: 'int8', bytes: 1 },
  11: { type: 'int16', bytes: 2 },
  12: { type: 'int32', bytes: 4 },
  13: { type: 'float32', bytes: 4 },
  14: { type: 'float64', bytes: 8 },
};

export interface IdxArray {
  shape: number[];
  type: IdxType;
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

export interface ReadIdxOptions {
  /** The magic number the file must have, e.g. 0x00000803 (2051) for idx3-ubyte images, 0x00000801 for labels. */
  magic?: number;
  /** The name used in messages when reading bytes rather than a file. */
  name?: string;
}

/** IDX magic numbers of MNIST-style files. */
export const IDX1_UBYTE = 0x00000801;
export const IDX3_UBYTE = 0x00000803;

const hex = (m: number) => `0x${(m >>> 0).toString(16).padStart(8, '0')}`;
function describeMagic(m: number): string {
  const t = TYPES[(m >>> 8) & 0xff];
  return t && m >>> 16 === 0 ? `${hex(m)}: idx${m & 0xff} ${t.type}` : hex(m);
}

/** Reads an IDX file (path, file URL or bytes; gzip-compressed or raw) into its shape, element type and data. */
export const readIdx = checked(
  'readIdx',
  {
    args: { source: union(str, instance(URL, 'a file URL'), instance(Uint8Array, 'a Uint8Array of the bytes')) },
    options: { magic: optional(int({ min: 0, max: 0xffffffff })), name: optional(str) },
  },
  (source: string | URL | Uint8Array, opts: ReadIdxOptions = {}): IdxArray => {
    const op = 'readIdx';
    const name = source instanceof Uint8Array ? (opts.name ?? 'the IDX data') : showPath(source);
    let bytes: Uint8Array;
    if (source instanceof Uint8Array) bytes = source;
    else {
      try {
        bytes = nodeFs(op).readFileSync(source);
      } catch (e) {
        throw new AdjointError(`${op}: cannot read ${name}: ${(e as Error).message}`, { cause: e });
      }
    }
    bytes = maybeGunzip(op, bytes, name);
    if (bytes.length < 4)
      throw new AdjointError(
        `${op}: ${name} is ${bytes.length} bytes long, too short for the 4-byte IDX magic (truncated)`,
      );
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const magic = dv.getUint32(0, false);
    const t = TYPES[(magic >>> 8) & 0xff];
    const ndim = magic & 0xff;
    if (magic >>> 16 !== 0 || !t)
      throw new AdjointError(
        `${op}: ${name} is not an IDX file: its magic number is ${hex(magic)}, but an IDX magic is 0x0000TTDD with type ` +
          `code TT one of 08, 09, 0b, 0c, 0d, 0e and DD dims` +
          (opts.magic !== undefined ? ` (expected ${describeMagic(opts.magic)})` : ''),
      );
    if (opts.magic !== undefined && magic !== opts.magic)
      throw new AdjointError(
        `${op}: ${name} has magic number ${describeMagic(magic)} but ${describeMagic(opts.magic)} was expected; is it ` +
          `the ${ndim === 1 ? 'labels' : 'images'} file in place of the other?`,
      );
    const headerBytes = 4 + 4 * ndim;
    if (bytes.length < headerBytes)
      throw new AdjointError(
        `${op}: ${name} is ${bytes.length} bytes long, but its header needs ${headerBytes} (the magic and ${ndim} ` +
          'sizes): the file is truncated',
      );
    const shape = Array.from({ length: ndim }, (_, i) => dv.getUint32(4 + 4 * i, false));
    const count = shape.reduce((a, b) => a * b, 1);
    const want = count * t.bytes;
    const have = bytes.length - headerBytes;
    if (have !== want)
      throw new AdjointError(
        `${op}: ${name}: the header says shape [${shape.join(', ')}] of ${t.type}, i.e. ${want} bytes of data after the ` +
          `${headerBytes}-byte header, but the file has ${have}` +
          (have < want ? ` (truncated: ${want - have} bytes missing)` : ` (${have - want} bytes too many)`),
      );
    const body = bytes.subarray(headerBytes);
    let data: IdxArray['data'];
    switch (t.type) {
      // Copies, not body.slice(): on a Node Buffer (what fs and zlib return) slice is a view of a shared pool.
      case 'uint8':
        data = new Uint8Array(body);
        break;
      case 'int8':
        data = new Int8Array(new Uint8Array(body).buffer);
        break;
      default: {
        const bd = new DataView(body.buffer, body.byteOffset, body.byteLength);
        const n = count;
        if (t.type === 'int16') {
          const a = new Int16Array(n);
          for (let i = 0; i < n; i++) a[i] = bd.getInt16(2 * i, false);
          data = a;
        } else if (t.type === 'int32') {
          const a = new Int32Array(n);
          for (let i = 0; i < n; i++) a[i] = bd.getInt32(4 * i, false);
          data = a;
        } else if (t.type === 'float32') {
          const a = new Float32Array(n);
          for (let i = 0; i < n; i++) a[i] = bd.getFloat32(4 * i, false);
          data = a;
        } else {
          const a = new Float64Array(n);
          for (let i = 0; i < n; i++) a[i] = bd.getFloat64(8 * i, false);
          data = a;
        }
      }
    }
    return { shape, type: t.type, data };
  },
);

/** An array or a typed array of numbers (not a DataView, not BigInt64Array: their elements are not numbers). */
export const NUMBERS = custom<ArrayLike<number>>('an array (or typed array) of numbers', (v) =>
  ArrayBuffer.isView(v)
    ? !(v instanceof DataView || v instanceof BigInt64Array || v instanceof BigUint64Array)
    : Array.isArray(v) && v.every((x) => typeof x === 'number'),
);

/** The values each element type holds exactly; a value outside is an error, never a wrap. */
const RANGES: Partial<Record<IdxType, [number, number]>> = {
  uint8: [0, 255],
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-(2 ** 31), 2 ** 31 - 1],
};

/** The bytes of an IDX file holding `data` with this shape and type (for tests and for exporting data sets). */
export const writeIdx = checked(
  'writeIdx',
  {
    args: {
      shape: shapeArg,
      type: oneOf(Object.values(TYPES).map((t) => t.type)),
      data: NUMBERS,
    },
  },
  (shape: readonly number[], type: IdxType, data: ArrayLike<number>): Uint8Array => {
    const code = Number(Object.keys(TYPES).find((k) => TYPES[Number(k)].type === type));
    const { bytes } = TYPES[code];
    const count = shape.reduce((a, b) => a * b, 1);
    if (data.length !== count)
      throw new AdjointError(`writeIdx: shape [${shape.join(', ')}] needs ${count} elements, got ${data.length}`);
    const range = RANGES[type];
    if (range)
      for (let i = 0; i < count; i++) {
        const v = Number(data[i]);
        if (!Number.isInteger(v) || v < range[0] || v > range[1])
          throw new ValueError(
            `writeIdx: data[${i}] is ${v}, which ${type} cannot hold (whole numbers ${range[0]}..${range[1]}); ` +
              'pick a wider type or convert the data first',
          );
      }
    const head = 4 + 4 * shape.length;
    const out = new Uint8Array(head + count * bytes);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, (code << 8) | shape.length, false);
    shape.forEach((s, i) => dv.setUint32(4 + 4 * i, s, false));
    const set = {
      uint8: (i: number, v: number) => dv.setUint8(head + i, v),
      int8: (i: number, v: number) => dv.setInt8(head + i, v),
      int16: (i: number, v: number) => dv.setInt16(head + 2 * i, v, false),
      int32: (i: number, v: number) => dv.setInt32(head + 4 * i, v, false),
      float32: (i: number, v: number) => dv.setFloat32(head + 4 * i, v, false),
      float64: (i: number, v: number) => dv.setFloat64(head + 8 * i, v, false),
    }[type];
    for (let i = 0; i < count; i++) set(i, data[i]);
    return out;
  },
);
