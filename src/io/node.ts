/**
 * @file Node built-ins (fs, zlib, path) fetched at call time with process.getBuiltinModule, never imported: the
 * browser bundle of src/index.ts must not import a `node:` module, while ad.io and ad.data still read and write
 * files under Node with synchronous calls, as torch.save / torch.load do.
 */
import type * as Fs from 'node:fs';
import type * as Path from 'node:path';
import type * as Zlib from 'node:zlib';
import { AdjointError } from '../core/errors.js';

interface BuiltIns {
  'node:fs': typeof Fs;
  'node:path': typeof Path;
  'node:zlib': typeof Zlib;
}

function builtin<K extends keyof BuiltIns>(op: string, id: K): BuiltIns[K] {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const get = proc?.getBuiltinModule;
  if (typeof get !== 'function')
    throw new AdjointError(
      `${op}: reading and writing files needs Node.js 20.16 or newer (process.getBuiltinModule)` +
        (proc ? '; upgrade Node' : '; in a browser use the in-memory forms (ad.io.save / ad.io.load on bytes)'),
    );
  return get.call(proc, id) as BuiltIns[K];
}

export const nodeFs = (op: string) => builtin(op, 'node:fs');
export const nodePath = (op: string) => builtin(op, 'node:path');
export const nodeZlib = (op: string) => builtin(op, 'node:zlib');

/** A path for messages: file URLs as paths. */
export function showPath(p: string | URL): string {
  return p instanceof URL ? decodeURIComponent(p.pathname) : p;
}

/** Bytes of a gzip stream (magic 1f 8b) inflated; other bytes returned as they are. `what` names the source. */
export function maybeGunzip(op: string, bytes: Uint8Array, what: string): Uint8Array {
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  try {
    return nodeZlib(op).gunzipSync(bytes);
  } catch (e) {
    throw new AdjointError(
      `${op}: ${what} is gzip-compressed but does not inflate (${(e as Error).message}); the file is truncated or ` +
        'corrupt: download or install it again',
    );
  }
}
