/**
 * @file What saving does to the files around it, and what reading refuses: an existing file's mode is kept, a
 * symlinked path has its target replaced (the link stays), temporary files of killed writers are removed on the next
 * save of the same file and a live writer's never are, a cyclic or too-deep checkpoint state is a ValueError that
 * leaves the target untouched; safetensors headers with duplicate keys, a byte-order mark, or pathological nesting,
 * rank or entry counts are ValueErrors naming the limit, found before anything large is built.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { assertThrowsMsg } from './helpers.js';

const { io, nn, ValueError } = ad;
const tmp = mkdtempSync(join(tmpdir(), 'adjoint-files-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const posix = process.platform !== 'win32';
const host =
  hostname()
    .replace(/[^A-Za-z0-9-]/g, '-')
    .slice(0, 32) || 'host';

function model(fill: number): ad.nn.Linear {
  const m = new nn.Linear(3, 2);
  ad.noGrad(() => {
    m.weight.fill_(fill);
    m.bias!.fill_(fill);
  });
  return m;
}
const weightOf = (file: string) => io.loadFile(file).weight.dataSync()[0];
const dirOf = (name: string) => mkdtempSync(join(tmp, `${name}-`));

describe('saving over an existing file', { skip: posix ? false : 'POSIX permissions and symlinks' }, () => {
  test('keeps its permission bits (0600 stays 0600, 0664 is not narrowed by the umask)', () => {
    const dir = dirOf('mode');
    for (const mode of [0o600, 0o664, 0o640]) {
      const file = join(dir, `m${mode.toString(8)}.ckpt`);
      io.saveCheckpoint(file, { model: model(1), step: 1 });
      chmodSync(file, mode);
      io.saveCheckpoint(file, { model: model(2), step: 2 });
      assert.equal(statSync(file).mode & 0o777, mode);
      io.saveFile(model(3).stateDict(), file);
      assert.equal(statSync(file).mode & 0o777, mode);
      assert.equal(weightOf(file), 3);
    }
    // A new file gets 0644 less the umask, as before.
    const fresh = join(dir, 'new.safetensors');
    io.saveFile(model(1).stateDict(), fresh);
    const umask = process.umask();
    assert.equal(statSync(fresh).mode & 0o777, 0o644 & ~umask);
  });

  test('through a symbolic link replaces the file it points to; the link stays a link', () => {
    const dir = dirOf('link');
    mkdirSync(join(dir, 'runs'));
    const real = join(dir, 'runs', 'real.ckpt');
    io.saveCheckpoint(real, { model: model(1), step: 1 });
    chmodSync(real, 0o600);
    const link = join(dir, 'latest.ckpt');
    symlinkSync(join('runs', 'real.ckpt'), link); // relative, as `ln -s runs/real.ckpt latest.ckpt`
    const chain = join(dir, 'chain.ckpt');
    symlinkSync('latest.ckpt', chain);

    io.saveCheckpoint(chain, { model: model(2), step: 2 });
    assert.ok(lstatSync(link).isSymbolicLink() && lstatSync(chain).isSymbolicLink());
    assert.equal(readlinkSync(link), join('runs', 'real.ckpt'));
    assert.equal(io.loadCheckpoint(real, { model: model(0) }).step, 2);
    assert.equal(statSync(real).mode & 0o777, 0o600);
    assert.deepEqual(
      readdirSync(join(dir, 'runs')).filter((f) => f.includes('.tmp-')),
      [],
      'the temporary file went next to the target and was renamed over it',
    );

    // A dangling link: the save creates the file it names.
    const dangling = join(dir, 'next.ckpt');
    symlinkSync(join('runs', 'later.ckpt'), dangling);
    io.saveFile(model(4).stateDict(), dangling);
    assert.ok(lstatSync(dangling).isSymbolicLink());
    assert.equal(weightOf(join(dir, 'runs', 'later.ckpt')), 4);

    // A loop is an error naming the path, and creates nothing.
    const loop = join(dir, 'loop.ckpt');
    symlinkSync('loop.ckpt', loop);
    assertThrowsMsg(() => io.saveFile(model(1).stateDict(), loop), ad.AdjointError, 'saveFile', 'loop.ckpt');
    assert.ok(lstatSync(loop).isSymbolicLink());
  });
});

describe('temporary files of killed writers', () => {
  /** A PID that existed and is gone: a child that has exited. */
  const deadPid = () => {
    const r = spawnSync(process.execPath, ['-e', '0']);
    assert.ok(r.pid);
    return r.pid as number;
  };

  test('the next save of the same file removes the provably abandoned ones, and only those', async () => {
    const dir = dirOf('stale');
    const file = join(dir, 'c.ckpt');
    io.saveCheckpoint(file, { model: model(1), step: 1 });
    const dead = deadPid();
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      const live = sleeper.pid!;
      const made = {
        deadOld: `.c.ckpt.tmp-${dead}-0`, // before writers named their host
        deadHere: `.c.ckpt.tmp-${dead}-1.${host}`,
        deadElsewhere: `.c.ckpt.tmp-${dead}-2.other-machine`, // its PID means nothing here: kept
        live: `.c.ckpt.tmp-${live}-0.${host}`,
        mineNow: `.c.ckpt.tmp-${process.pid}-9999.${host}`, // another thread of this process may be writing it
        mineBefore: `.c.ckpt.tmp-${process.pid}-9998.${host}`, // from an earlier process with this PID
        otherFile: `.d.ckpt.tmp-${dead}-0.${host}`, // another file's: not this save's business
        notOurs: '.c.ckpt.tmp-notes.txt',
      };
      for (const name of Object.values(made)) writeFileSync(join(dir, name), 'partial');
      const hourAgo = (Date.now() - 3_600_000) / 1000;
      utimesSync(join(dir, made.mineBefore), hourAgo, hourAgo);

      io.saveCheckpoint(file, { model: model(2), step: 2 });
      const left = new Set(readdirSync(dir));
      for (const gone of ['deadOld', 'deadHere', 'mineBefore'] as const) assert.ok(!left.has(made[gone]), gone);
      for (const kept of ['deadElsewhere', 'live', 'mineNow', 'otherFile', 'notOurs'] as const)
        assert.ok(left.has(made[kept]), kept);
      assert.equal(io.loadCheckpoint(file, { model: model(0) }).step, 2);
    } finally {
      sleeper.kill();
    }
  });

  test('a writer killed mid-save leaves a temporary file that the next save removes', async () => {
    const dir = dirOf('killed');
    const file = join(dir, 'model.ckpt');
    io.saveCheckpoint(file, { model: model(1), step: 1 });
    const child = writer(file, 2, 1 << 18);
    await child.started;
    child.proc.kill('SIGKILL');
    await child.exited;
    const partial = readdirSync(dir).filter((f) => f.includes('.tmp-'));
    assert.equal(partial.length, 1);
    assert.match(partial[0], new RegExp(`^\\.model\\.ckpt\\.tmp-${child.proc.pid}-0\\.${host}$`));
    io.saveCheckpoint(file, { model: model(3), step: 3 });
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes('.tmp-')),
      [],
    );
  });

  test("a live writer's temporary file is left alone, and its save completes", async () => {
    const dir = dirOf('live');
    const file = join(dir, 'model.ckpt');
    io.saveCheckpoint(file, { model: model(1), step: 1 });
    const child = writer(file, 2, 1 << 18);
    await child.started;
    // Saved while the child is half-way through its own save of the same file.
    io.saveCheckpoint(file, { model: model(3), step: 3 });
    assert.equal(readdirSync(dir).filter((f) => f.includes('.tmp-')).length, 1, "the child's file is still there");
    const code = await child.exited;
    assert.equal(code, 0, 'the child renamed its file into place');
    assert.equal(io.loadCheckpoint(file, { model: new Big(1 << 18) }).step, 2);
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes('.tmp-')),
      [],
    );
  });
});

class Big extends nn.Module {
  w: ad.Tensor;
  constructor(n: number, v = 0) {
    super();
    this.w = nn.Parameter(ad.full([n], v));
  }
}

/** A child process saving a checkpoint of n floats in 64 KiB chunks, pausing 50 ms after each. */
function writer(file: string, step: number, n: number) {
  const proc = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `import * as ad from ${JSON.stringify(join(process.cwd(), 'src/index.ts'))};
      class Big extends ad.nn.Module { w = ad.nn.Parameter(ad.full([${n}], 2)); }
      const pause = new Int32Array(new SharedArrayBuffer(4));
      ad.io.saveCheckpoint(${JSON.stringify(file)}, { model: new Big(), step: ${step} }, {
        chunkSize: 1 << 16,
        onProgress: (written) => { if (written === 1 << 16) console.log('writing'); Atomics.wait(pause, 0, 0, 50); },
      });`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<number | null>((r) => proc.on('exit', (c) => r(c)));
  const started = new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d) => {
      out += d;
      if (out.includes('writing')) resolve();
    });
    proc.on('exit', () => reject(new Error(`the writer exited before writing: ${out}`)));
  });
  return { proc, started, exited };
}

describe('checkpoint state that a file cannot hold', () => {
  test('a cyclic extra is a ValueError naming the path, and the target file is untouched', () => {
    const dir = dirOf('cycle');
    const file = join(dir, 'c.ckpt');
    io.saveCheckpoint(file, { model: model(1), step: 1 });
    const before = readFileSync(file);
    const a: Record<string, unknown> = { lr: 0.1 };
    a.history = [{ config: a }];
    assertThrowsMsg(
      () => io.saveCheckpoint(file, { model: model(2), step: 2, extra: a }),
      ValueError,
      "saveCheckpoint: 'extra.history.0.config' is 'extra' itself",
      'cyclic',
    );
    const list: unknown[] = [1];
    list.push(list);
    assertThrowsMsg(
      () => io.saveCheckpoint(file, { model: model(2), step: 2, extra: { list } }),
      ValueError,
      "'extra.list.1' is 'extra.list' itself",
    );
    assert.deepEqual(readFileSync(file), before);
    assert.deepEqual(readdirSync(dir), ['c.ckpt']);
    // Shared but acyclic is fine: stored twice.
    const shared = { k: [1, 2] };
    io.saveCheckpoint(file, { model: model(2), step: 2, extra: { a: shared, b: shared } });
    assert.deepEqual(io.loadCheckpoint(file, { model: model(0) }).extra, { a: { k: [1, 2] }, b: { k: [1, 2] } });
  });

  test('state nested 1000 deep saves and loads; deeper is a ValueError on save, and on load of a forged file', () => {
    const dir = dirOf('deep');
    const file = join(dir, 'c.ckpt');
    let deep: unknown = ad.tensor([5]);
    for (let i = 0; i < 1000; i++) deep = [deep];
    io.saveCheckpoint(file, { model: model(1), step: 1, extra: deep });
    let back = io.loadCheckpoint(file, { model: model(0) }).extra;
    for (let i = 0; i < 1000; i++) back = (back as unknown[])[0];
    assert.equal((back as ad.Tensor).item(), 5);
    const before = readFileSync(file);
    assertThrowsMsg(
      () => io.saveCheckpoint(file, { model: model(2), step: 2, extra: [deep] }),
      ValueError,
      'is nested 1001 levels deep, more than the 1000',
    );
    assert.deepEqual(readFileSync(file), before);

    // A file whose state JSON nests 100 000 deep (no stack overflow; the model is not touched).
    const m = model(1);
    const plain = join(dir, 'plain.ckpt');
    io.saveCheckpoint(plain, { model: m, step: 1, extra: 0 });
    const { tensors, metadata } = io.loadFileWithMetadata(plain);
    const state = metadata!.state.replace('"extra":0', `"extra":${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    assert.notEqual(state, metadata!.state);
    const forged = join(dir, 'forged.ckpt');
    io.saveFile(tensors, forged, { ...metadata, state });
    const target = model(7);
    assertThrowsMsg(() => io.loadCheckpoint(forged, { model: target }), ValueError, 'nested more than 1000 levels');
    assert.equal(target.weight.dataSync()[0], 7);
  });
});

/** Bytes of a safetensors file with this header (text or bytes) and data. */
function withHeader(header: string | Uint8Array, data = new Uint8Array(0)): Uint8Array {
  const h = typeof header === 'string' ? new TextEncoder().encode(header) : header;
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}
const one = new Uint8Array(new Float32Array([1]).buffer);
const entry = (dtype = 'F32', shape = '[1]', off = '[0,4]') =>
  `{"dtype":"${dtype}","shape":${shape},"data_offsets":${off}}`;

describe('safetensors headers that could be read two ways, or cost without bound', () => {
  test('a duplicate key is a ValueError, at the top level, inside an entry and in the metadata', () => {
    // The audit's example: the same 4 bytes as a [4] U8 tensor to one reader and a [1] F32 to another.
    const twice = withHeader(`{"w":${entry('U8', '[4]')},"w":${entry()}}`, one);
    assertThrowsMsg(() => io.load(twice), ValueError, "the key 'w' appears twice at the top level", 'duplicate');
    assertThrowsMsg(() => io.readHeader(twice), ValueError, "'w' appears twice");
    // The same key spelt with an escape is the same key.
    assertThrowsMsg(
      () => io.load(withHeader(`{"w":${entry()},"\\u0077":${entry()}}`, one)),
      ValueError,
      "'w' appears twice",
    );
    assertThrowsMsg(
      () => io.load(withHeader('{"w":{"dtype":"U8","dtype":"F32","shape":[1],"data_offsets":[0,4]}}', one)),
      ValueError,
      "the key 'dtype' appears twice in the entry 'w'",
    );
    assertThrowsMsg(
      () => io.loadWithMetadata(withHeader(`{"__metadata__":{"a":"1","a":"2"},"w":${entry()}}`, one)),
      ValueError,
      "'a' appears twice in the entry '__metadata__'",
    );
    // Keys inside strings and distinct keys in sibling entries are not duplicates.
    const fine = io.load(
      withHeader(`{"a\\"b":${entry('F32', '[1]', '[0,4]')},"b":${entry('F32', '[1]', '[4,8]')}}`, new Uint8Array(8)),
    );
    assert.deepEqual(Object.keys(fine).sort(), ['a"b', 'b']);
  });

  test('a byte-order mark or whitespace before the header is a ValueError (the format: it begins with {)', () => {
    const text = new TextEncoder().encode(`{"w":${entry()}}`);
    const bom = withHeader(new Uint8Array([0xef, 0xbb, 0xbf, ...text]), one);
    assertThrowsMsg(() => io.load(bom), ValueError, 'byte-order mark (EF BB BF)', 'begin with {');
    assertThrowsMsg(() => io.load(withHeader(` {"w":${entry()}}`, one)), ValueError, "byte 8 is 0x20 ' '");
    assertThrowsMsg(() => io.load(withHeader('', one)), ValueError, 'the header is empty');
    // Trailing spaces are the format's padding.
    assert.equal(io.load(withHeader(`{"w":${entry()}}   `, one)).w.item(), 1);
  });

  test('nesting 5 million deep is a ValueError naming the depth limit, not a stack overflow', () => {
    const n = 5_000_000;
    const deep = withHeader(`{"w":${entry('F32', `${'['.repeat(n)}1${']'.repeat(n)}`)}}`, one);
    assertThrowsMsg(
      () => io.load(deep),
      ValueError,
      'nests deeper than 128 levels',
      "'w' → 'shape'",
      'HEADER_LIMITS.depth',
    );
    // At the limit the structure passes and the entry's own check speaks.
    const d = ad.io.HEADER_LIMITS.depth - 2;
    const atLimit = withHeader(`{"w":${entry('F32', `${'['.repeat(d)}1${']'.repeat(d)}`)}}`, one);
    assertThrowsMsg(() => io.load(atLimit), ValueError, "tensor 'w' has shape [[[[", 'non-negative integers');
  });

  test('more dims than the rank limit, or more entries than the tensor limit, is a ValueError naming it', () => {
    const { rank, tensors } = ad.io.HEADER_LIMITS;
    const dims = (k: number) => `[${new Array(k).fill(1).join(',')}]`;
    assert.equal(io.load(withHeader(`{"w":${entry('F32', dims(rank))}}`, one)).w.ndim, rank);
    assertThrowsMsg(
      () => io.load(withHeader(`{"w":${entry('F32', dims(rank + 1))}}`, one)),
      ValueError,
      `tensor 'w' has a shape of more than ${rank} dimensions`,
      'HEADER_LIMITS.rank',
    );
    // One entry too many, each a zero-size tensor (the header alone, 6 MB, is well under the 100 MB limit).
    const parts: string[] = [];
    for (let i = 0; i <= tensors; i++) parts.push(`"t${i}":${entry('F32', '[0]', '[0,0]')}`);
    const many = withHeader(`{${parts.join(',')}}`);
    assertThrowsMsg(() => io.load(many), ValueError, `more than ${tensors} tensor entries`, 'HEADER_LIMITS.tensors');
    assert.ok(Object.isFrozen(ad.io.HEADER_LIMITS));
  });

  test('files this library and PyTorch write still load (they begin with { and have unique keys)', () => {
    const dir = dirOf('plain');
    const file = join(dir, 'w.safetensors');
    io.saveFile(model(6).stateDict(), file, { note: 'x' });
    assert.equal(weightOf(file), 6);
    const fixture = new URL('./fixtures/', import.meta.url);
    for (const f of readdirSync(fixture).filter((n) => n.endsWith('.safetensors')))
      assert.ok(Object.keys(io.loadFile(new URL(f, fixture))).length > 0, f);
    assert.ok(existsSync(file));
  });
});
