/**
 * @file Atomic file writes: the bytes go to a temporary file in the target's directory, which is flushed (fsync),
 * renamed over the target and the directory flushed too. A crash at any point leaves either the old file or the
 * new one under the target name, never a mix; at worst a stray temporary file `.NAME.tmp-PID-N` remains.
 */
import { AdjointError } from '../core/errors.js';
import { nodeFs, nodePath } from './node.js';

export interface WriteOptions {
  /** Bytes per write call (default 4 MiB). */
  chunkSize?: number;
  /** Called after each chunk is written, with the bytes written so far and the total (for progress bars). */
  onProgress?: (written: number, total: number) => void;
}

let counter = 0;

/** Writes bytes to path atomically (see the file comment); returns once the data and the rename are on disk. */
export function writeFileAtomic(op: string, path: string, bytes: Uint8Array, opts: WriteOptions = {}): void {
  const fs = nodeFs(op);
  const pathMod = nodePath(op);
  const dir = pathMod.dirname(pathMod.resolve(path));
  const tmp = pathMod.join(dir, `.${pathMod.basename(path)}.tmp-${process.pid}-${counter++}`);
  const chunk = Math.max(1, opts.chunkSize ?? 4 << 20);
  let fd: number | null = null;
  try {
    fd = fs.openSync(tmp, 'wx', 0o644);
    for (let off = 0; off < bytes.length; ) {
      off += fs.writeSync(fd, bytes, off, Math.min(chunk, bytes.length - off));
      opts.onProgress?.(off, bytes.length);
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, path);
  } catch (e) {
    if (fd !== null) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    const err = e as NodeJS.ErrnoException;
    throw new AdjointError(`${op}: could not write ${path}: ${err.message}`, { cause: e });
  }
  // The rename itself is durable only once the directory is flushed. Some platforms (Windows) cannot open a
  // directory for fsync; there the rename is as durable as the OS makes it.
  try {
    const dfd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {}
}
