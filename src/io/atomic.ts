/**
 * @file Atomic file writes: the bytes go to a temporary file in the target's directory, which is flushed (fsync),
 * renamed over the target and the directory flushed too. A crash at any point leaves either the old file or the
 * new one under the target name, never a mix; at worst a stray temporary file `.NAME.tmp-PID-N.HOST` remains, and
 * the next save of the same file removes it once its writer is provably gone.
 *
 * Replacing a file keeps what a user set on it: an existing file's permission bits carry over (a 0600 checkpoint
 * stays 0600), and a path that is a symbolic link has its target replaced, so the link stays a link. Owner and
 * group are the writer's, as for any file replaced by rename.
 */
import type * as Fs from 'node:fs';
import type * as Path from 'node:path';
import { AdjointError } from '../core/errors.js';
import { nodeFs, nodePath } from './node.js';

export interface WriteOptions {
  /** Bytes per write call (default 4 MiB). */
  chunkSize?: number;
  /** Called after each chunk is written, with the bytes written so far and the total (for progress bars). */
  onProgress?: (written: number, total: number) => void;
}

let counter = 0;
/** Symbolic links followed before giving up (Linux's own limit is 40). */
const MAX_LINKS = 40;
/** A new file's permission bits (before the umask), as before; an existing file keeps its own. */
const NEW_FILE_MODE = 0o644;

interface Proc {
  pid: number;
  kill(pid: number, signal: number): boolean;
  uptime(): number;
  getBuiltinModule?: (id: string) => unknown;
}
const proc = () => (globalThis as unknown as { process: Proc }).process;

/** This machine's name as it goes into temporary file names: letters, digits and '-'. */
function hostTag(): string {
  const os = proc().getBuiltinModule?.('node:os') as { hostname(): string } | undefined;
  const h = (os?.hostname() ?? '').replace(/[^A-Za-z0-9-]/g, '-').slice(0, 32);
  return h || 'host';
}

/** Writes bytes to path atomically (see the file comment); returns once the data and the rename are on disk. */
export function writeFileAtomic(op: string, path: string, bytes: Uint8Array, opts: WriteOptions = {}): void {
  const fs = nodeFs(op);
  const pathMod = nodePath(op);
  const chunk = Math.max(1, opts.chunkSize ?? 4 << 20);
  const failure = (e: unknown) =>
    new AdjointError(`${op}: could not write ${path}: ${(e as Error).message}`, { cause: e });
  let target: string;
  let mode: number | null;
  try {
    target = resolveTarget(fs, pathMod, path);
    mode = existingMode(fs, target);
  } catch (e) {
    throw failure(e);
  }
  const dir = pathMod.dirname(target);
  const base = pathMod.basename(target);
  const host = hostTag();
  removeStaleTemps(fs, pathMod, dir, base, host);
  let tmp = '';
  let fd: number | null = null;
  try {
    // 'wx' never opens an existing file: a name taken (by another thread of this process, or left by an earlier
    // process with this PID) moves on to the next number.
    for (let tries = 0; fd === null; tries++) {
      tmp = pathMod.join(dir, `.${base}.tmp-${proc().pid}-${counter++}.${host}`);
      try {
        fd = fs.openSync(tmp, 'wx', mode ?? NEW_FILE_MODE);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || tries >= 1000) throw e;
      }
    }
    // The umask applied at open would clear bits the old file had (0664 → 0644): set them exactly.
    if (mode !== null) fs.fchmodSync(fd, mode);
    for (let off = 0; off < bytes.length; ) {
      off += fs.writeSync(fd, bytes, off, Math.min(chunk, bytes.length - off));
      opts.onProgress?.(off, bytes.length);
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, target);
  } catch (e) {
    if (fd !== null) fs.closeSync(fd);
    if (tmp) fs.rmSync(tmp, { force: true });
    throw failure(e);
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

/**
 * The file a write to path must replace: path itself, or, where path is a symbolic link (or a chain of them), the
 * file the links lead to, existing or not (a dangling link's target is created, as writing through it would).
 */
function resolveTarget(fs: typeof Fs, p: typeof Path, path: string): string {
  try {
    return fs.realpathSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  // Nothing exists at the end of the chain: follow the links by hand to the missing name.
  let cur = p.resolve(path);
  for (let hops = 0; ; hops++) {
    let link: string;
    try {
      link = fs.readlinkSync(cur);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EINVAL') return cur; // no such file (a new one), or not a link
      throw e;
    }
    if (hops >= MAX_LINKS) throw new Error(`more than ${MAX_LINKS} symbolic links in a row (a loop?)`);
    // A relative link is relative to the real directory holding it.
    let dir = p.dirname(cur);
    try {
      dir = fs.realpathSync(dir);
    } catch {}
    cur = p.resolve(dir, link);
  }
}

/** The permission bits of the file at target, or null when there is none. */
function existingMode(fs: typeof Fs, target: string): number | null {
  try {
    return fs.statSync(target).mode & 0o7777;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/**
 * Removes the temporary files earlier writes of `base` left in dir when their writer was killed — only those
 * provably abandoned: written on this machine (the name carries its host; names without one come from before the
 * host was added, also on this machine) by a process that no longer exists, or by an earlier process with this
 * process's PID (older than this process). A temporary file of a live writer is never touched, so concurrent saves
 * of the same file stay atomic. Best effort: a file that cannot be removed stays.
 */
function removeStaleTemps(fs: typeof Fs, p: typeof Path, dir: string, base: string, host: string): void {
  const prefix = `.${base}.tmp-`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  const me = proc();
  const started = Date.now() - me.uptime() * 1000;
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(\d+)-\d+(?:\.([A-Za-z0-9-]+))?$/.exec(name.slice(prefix.length));
    if (!m || (m[2] !== undefined && m[2] !== host)) continue;
    const pid = Number(m[1]);
    if (!Number.isSafeInteger(pid) || pid <= 0) continue;
    const file = p.join(dir, name);
    try {
      if (pid === me.pid) {
        // Another thread of this process may be writing it; only a file from before this process began is stale.
        // Two seconds of margin cover file systems that keep times to the second.
        if (fs.statSync(file).mtimeMs >= started - 2000) continue;
      } else if (alive(me, pid)) continue;
      fs.rmSync(file, { force: true });
    } catch {}
  }
}

function alive(me: Proc, pid: number): boolean {
  try {
    me.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
