/**
 * @file ad.io: safetensors bytes as the safetensors library writes them, PyTorch-written fixtures
 * (scripts/fixture_safetensors.py) loaded into an adjoint model with the same predictions and re-written
 * byte-identically, every dtype's conversion against torch's, clear errors for corrupt files; training checkpoints
 * that restore bit-identical training, refuse mismatches without touching anything, and survive a writer killed
 * mid-save.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { AdjointError, DTypeError, ShapeError, ValueError } from '../src/index.js';
import { assertClose, assertThrowsMsg } from './helpers.js';

const { io, nn } = ad;
const tmp = mkdtempSync(join(tmpdir(), 'adjoint-io-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const fixture = (name: string) => new Uint8Array(readFileSync(join('test', 'fixtures', name)));
const text = (b: Uint8Array, from: number, to: number) => new TextDecoder().decode(b.subarray(from, to));
const headerLen = (b: Uint8Array) => Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
const bits = (t: ad.Tensor) => Buffer.from(t.dataSync().buffer).toString('hex');
/** Element-wise identical (-0 and 0 told apart), except that any NaN equals any NaN. */
function sameOrNaN(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++)
    assert.ok((Number.isNaN(a[i]) && Number.isNaN(b[i])) || Object.is(a[i], b[i]), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}
/** BF16 bits equal, except that NaN patterns may differ (see toBFloat16). */
function sameBf16Bits(a: Uint8Array, b: Uint8Array, what: string): void {
  const ua = new Uint16Array(new Uint8Array(a).buffer);
  const ub = new Uint16Array(new Uint8Array(b).buffer);
  const nan = (h: number) => (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;
  assert.equal(ua.length, ub.length, what);
  for (let i = 0; i < ua.length; i++)
    assert.ok(
      (nan(ua[i]) && nan(ub[i])) || ua[i] === ub[i],
      `${what}[${i}]: ${ua[i].toString(16)} vs ${ub[i].toString(16)}`,
    );
}

/**
 * PyTorch's Sequential(Linear(4, 8), ReLU(), Linear(8, 3)). ad.nn.Sequential is used when it exists; until then an
 * equivalent container with the same child names ('0', '1', '2') and so the same state-dict keys.
 */
function mlp(): ad.nn.Module {
  const Seq = (nn as unknown as Record<string, new (...m: ad.nn.Module[]) => ad.nn.Module>).Sequential;
  if (typeof Seq === 'function') return new Seq(new nn.Linear(4, 8), new nn.ReLU(), new nn.Linear(8, 3));
  class Sequential extends nn.Module {
    constructor(...mods: ad.nn.Module[]) {
      super();
      mods.forEach((m, i) => ((this as unknown as Record<string, ad.nn.Module>)[i] = m));
    }
    override forward(x: ad.Tensor): ad.Tensor {
      for (const m of this.children()) x = m.forward(x);
      return x;
    }
  }
  return new Sequential(new nn.Linear(4, 8), new nn.ReLU(), new nn.Linear(8, 3));
}

describe('safetensors format', () => {
  test("the safetensors library's layout: compact header, sorted, space-padded to 8 bytes, little-endian data", () => {
    const t = ad.tensor([
      [
        [0, 1, 2],
        [3, 4, 5],
      ],
    ]);
    const b = io.save({ 'attn.0': t });
    const json = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    assert.equal(headerLen(b), 64);
    assert.equal(text(b, 8, 72), json.padEnd(64, ' '));
    assert.deepEqual(Array.from(b.subarray(72, 80)), [0, 0, 0, 0, 0, 0, 0x80, 0x3f]);
    assert.equal(b.length, 8 + 64 + 24);
    assert.deepEqual(Array.from(io.save({})), [8, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d, 32, 32, 32, 32, 32, 32]);
    assert.equal(text(io.save({}, { framework: 'pt' }), 8, 48), '{"__metadata__":{"framework":"pt"}}     ');
  });

  test('tensors ordered by dtype alignment (I64 > F64 > F32 > I32 > BF16 > F16 > BOOL), then by name', () => {
    const b = io.save(
      {
        b: ad.tensor([true]),
        z: ad.tensor([1], { dtype: 'int32' }),
        y: ad.tensor([1], { dtype: 'float64' }),
        a: ad.tensor([1], { dtype: 'int32' }),
        '10': ad.tensor([1]),
        '9': ad.tensor([1]),
        h: ad.tensor([1]),
        l: ad.tensor([1], { dtype: 'int32' }),
      },
      null,
      { as: { bool: 'BOOL' } },
    );
    const keys = io.readHeader(b).tensors.map(([k]) => k);
    assert.deepEqual(keys, ['y', '10', '9', 'h', 'a', 'l', 'z', 'b']);
    const mixed = io.save({ w: ad.tensor([1]), i: ad.tensor([1], { dtype: 'int32' }) }, null, {
      as: (key) => (key === 'w' ? 'BF16' : 'I64'),
    });
    assert.deepEqual(
      io.readHeader(mixed).tensors.map(([k, i]) => `${k}:${i.dtype}`),
      ['i:I64', 'w:BF16'],
    );
  });

  test('round trip of every dtype, 0-d and empty tensors, metadata', () => {
    const tensors = {
      f64: ad.tensor([[Math.PI, -0, 1e-310]], { dtype: 'float64' }),
      f32: ad.tensor([1.5, Number.NaN, Number.NEGATIVE_INFINITY]),
      i32: ad.tensor([-2147483648, 2147483647, 0], { dtype: 'int32' }),
      i64: ad.tensor([-(2 ** 53 - 1), -(2 ** 40) - 3, -1, 0, 2 ** 31, 2 ** 53 - 1], { dtype: 'int64' }),
      bool: ad.tensor([true, false, true]),
      scalar: ad.tensor(3.25, { dtype: 'float64' }),
      empty: ad.zeros([0, 4]),
    };
    const back = io.loadWithMetadata(io.save(tensors, { step: '3' }));
    assert.deepEqual(back.metadata, { step: '3' });
    for (const [k, t] of Object.entries(tensors)) {
      assert.equal(back.tensors[k].dtype, t.dtype, k);
      assert.deepEqual(back.tensors[k].shape, t.shape, k);
      assert.equal(bits(back.tensors[k]), bits(t), k);
    }
    // Strided views are written in row-major order.
    const tr = ad.arange(6, undefined, 1, { dtype: 'float32' }).reshape(2, 3).transpose(0, 1);
    assert.deepEqual(io.load(io.save({ tr })).tr.toArray(), tr.toArray());
  });

  test('I64 as int64 (exact to 2^53 − 1, range-checked), F16/BF16 as float32: documented conversions', () => {
    const b = io.save({ i: ad.tensor([-5, 7], { dtype: 'int32' }) }, null, { as: { int32: 'I64' } });
    assert.equal(io.readHeader(b).tensors[0][1].dtype, 'I64');
    assert.deepEqual(io.load(b).i.toArray(), [-5, 7]);
    assert.equal(io.load(b).i.dtype, 'int64');
    // 7 + 2^40 in the second element: past int32, exact in int64.
    const big = b.slice();
    big[b.length - 8 + 5] = 1;
    assert.deepEqual(io.load(big).i.toArray(), [-5, 2 ** 40 + 7]);
    // 7 + 2^62: past 2^53 − 1, which float64 storage holds exactly; it throws rather than lose digits.
    const huge = b.slice();
    huge[b.length - 1] = 0x40;
    assertThrowsMsg(
      () => io.load(huge),
      DTypeError,
      "tensor 'i'",
      '4611686018427387911',
      'element 1',
      `file byte ${b.length - 8}`,
      '2^53 − 1',
    );
    // int64 writes as I64 by default; as I32 (or narrower) when asked, range-checked.
    const small = ad.tensor([-3, 2 ** 31 - 1], { dtype: 'int64' });
    assert.equal(io.readHeader(io.save({ small })).tensors[0][1].dtype, 'I64');
    const as32 = io.load(io.save({ small }, null, { as: { int64: 'I32' } })).small;
    assert.deepEqual([as32.dtype, as32.toArray()], ['int32', [-3, 2 ** 31 - 1]]);
    assertThrowsMsg(
      () => io.save({ v: ad.tensor([2 ** 31], { dtype: 'int64' }) }, null, { as: { int64: 'I32' } }),
      DTypeError,
      "'v'",
      '2147483648',
      'write it as I64',
    );
  });
});

describe('PyTorch fixtures (scripts/fixture_safetensors.py)', () => {
  test('a state dict saved from torch loads into the same adjoint model and gives the same predictions', () => {
    const file = io.loadFile(join('test', 'fixtures', 'torch_mlp.safetensors'));
    const { input, output, ...sd } = file;
    assert.deepEqual(Object.keys(sd).sort(), ['0.bias', '0.weight', '2.bias', '2.weight']);
    const model = mlp();
    model.loadStateDict(sd);
    const y = ad.noGrad(() => model.forward(input) as ad.Tensor);
    assert.deepEqual(y.shape, [5, 3]);
    assertClose(y.dataSync(), output.dataSync(), 1e-6, 1e-6, 'predictions');
  });

  test('re-saving the torch files gives them back byte for byte', () => {
    const mlpBytes = fixture('torch_mlp.safetensors');
    assert.deepEqual(io.save(io.load(mlpBytes)), mlpBytes);
    const bytes = fixture('torch_dtypes.safetensors');
    const header = io.readHeader(bytes);
    const dtypes = Object.fromEntries(header.tensors.map(([k, i]) => [k, i.dtype]));
    const { tensors, metadata } = io.loadWithMetadata(bytes);
    assert.deepEqual(metadata, { format: 'pt', source: 'scripts/fixture_safetensors.py' });
    for (const k of Object.keys(tensors))
      sameOrNaN(io.load(io.save({ [k]: tensors[k] }))[k].dataSync(), tensors[k].dataSync(), k);
    // Byte for byte, but for the NaN of BF16 (0x7FC0 here, 0xFFFF from torch's vectorized conversion).
    const resaved = io.save(tensors, metadata, { as: (k) => dtypes[k] });
    const bf = header.tensors.find(([k]) => k === 'bf16')![1].dataOffsets;
    const mask = (b: Uint8Array) => {
      const c = b.slice();
      c.fill(0, header.dataStart + bf[0], header.dataStart + bf[1]);
      return c;
    };
    assert.deepEqual(mask(resaved), mask(bytes));
    assert.deepEqual(tensors.i16.toArray(), [-32768, 32767, 5]);
    assert.deepEqual(tensors.i8.toArray(), [-128, 127, 0]);
    assert.deepEqual(tensors.u8.toArray(), [0, 255, 17]);
  });

  test("every dtype decodes to torch's values; F16/BF16 encoding rounds as torch's .half() / .bfloat16()", () => {
    const t = io.load(fixture('torch_dtypes.safetensors'));
    assert.equal(t.f16.dtype, 'float32');
    sameOrNaN(t.f16.dataSync(), t.f16_as_f32.dataSync(), 'f16');
    sameOrNaN(t.bf16.dataSync(), t.bf16_as_f32.dataSync(), 'bf16');
    const enc = (as: 'F16' | 'BF16') => {
      const b = io.save({ x: t.f32 }, null, { as: { float32: as } });
      return b.subarray(8 + headerLen(b));
    };
    const raw = fixture('torch_dtypes.safetensors');
    const h = io.readHeader(raw);
    const dataOf = (key: string) => {
      const [, info] = h.tensors.find(([k]) => k === key)!;
      return raw.subarray(h.dataStart + info.dataOffsets[0], h.dataStart + info.dataOffsets[1]);
    };
    assert.deepEqual(enc('F16'), dataOf('f16'));
    sameBf16Bits(enc('BF16'), dataOf('bf16'), 'bf16');
    assert.deepEqual(t.i64.toArray(), [0, -1, 7, 2147483647, -2147483648]);
    assert.equal(t.i64.dtype, 'int64');
    // And writes back as torch wrote it.
    const i64 = io.save({ x: t.i64 });
    assert.deepEqual(i64.subarray(8 + headerLen(i64)), dataOf('i64'));
    assert.deepEqual(t.mask.toArray(), [[true, false, true]]);
    assert.deepEqual(t.scalar.shape, []);
    assert.deepEqual(t.empty.shape, [0, 3]);
    assert.equal(t.f64.dataSync()[2], 5e-324);
    assert.equal(t['a.long.name/with unicode é'].item(), 1);
    assert.equal(t['0'].item(), 3);
  });
});

describe('safetensors errors name the key or the byte', () => {
  const good = io.save({ a: ad.tensor([1, 2, 3]), b: ad.tensor([[1, 2]], { dtype: 'float64' }) });
  const n = headerLen(good);
  /** The file with its header replaced (length field updated, padding kept to 8). */
  const withHeader = (json: string, data = good.subarray(8 + n)) => {
    const h = new TextEncoder().encode(json.padEnd(Math.ceil(json.length / 8) * 8, ' '));
    const out = new Uint8Array(8 + h.length + data.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
    out.set(h, 8);
    out.set(data, 8 + h.length);
    return out;
  };

  test('truncated files', () => {
    assertThrowsMsg(() => io.load(good.subarray(0, 5)), ValueError, '5 bytes long', 'truncated');
    assertThrowsMsg(() => io.load(good.subarray(0, 40)), ValueError, `header length at byte 0 is ${n}`, 'truncated');
    assertThrowsMsg(
      () => io.load(good.subarray(0, good.length - 3)),
      ValueError,
      "'a'",
      `file byte ${good.length}`,
      '3 missing',
    );
    const extra = new Uint8Array(good.length + 2);
    extra.set(good);
    assertThrowsMsg(() => io.load(extra), ValueError, '2 more bytes', 'trailing');
    const file = join(tmp, 'cut.safetensors');
    writeFileSync(file, good.subarray(0, good.length - 1));
    assertThrowsMsg(() => io.loadFile(file), ValueError, file, 'truncated');
    assertThrowsMsg(() => io.loadFile(join(tmp, 'none.safetensors')), AdjointError, 'none.safetensors', 'cannot read');
  });

  test('corrupt headers', () => {
    const huge = good.slice();
    huge[6] = 1;
    assertThrowsMsg(() => io.load(huge), ValueError, 'header length at byte 0', 'limit');
    assertThrowsMsg(() => io.load(withHeader('{"a": [1,')), ValueError, 'not valid JSON');
    assertThrowsMsg(() => io.load(withHeader('[1, 2]')), ValueError, 'not a JSON object');
    const bad = withHeader('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}').slice();
    bad[9] = 0xff;
    assertThrowsMsg(() => io.load(bad), ValueError, 'UTF-8');
    const data16 = new Uint8Array(16);
    assertThrowsMsg(
      () => io.load(withHeader('{"x":{"dtype":"C64","shape":[2],"data_offsets":[0,16]}}', data16)),
      ValueError,
      "tensor 'x'",
      '"C64"',
    );
    assertThrowsMsg(
      () => io.load(withHeader('{"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,16]}}', data16)),
      ValueError,
      "tensor 'x'",
      'shape',
    );
    assertThrowsMsg(
      () => io.load(withHeader('{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}', data16)),
      ValueError,
      "tensor 'x'",
      'needs 12 bytes',
      '[0, 16]',
    );
    assertThrowsMsg(
      () =>
        io.load(
          withHeader(
            '{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}',
            data16.subarray(0, 12),
          ),
        ),
      ValueError,
      "tensor 'y' starts at data byte 4",
      "'x', ends at data byte 8",
      'overlap',
    );
    assertThrowsMsg(
      () => io.load(withHeader('{"__metadata__":{"step":3}}', new Uint8Array(0))),
      ValueError,
      "__metadata__ entry 'step'",
    );
    const boolFile = io.save({ m: ad.tensor([true, false]) });
    boolFile[boolFile.length - 1] = 7;
    assertThrowsMsg(() => io.load(boolFile), ValueError, "tensor 'm'", 'byte value 7', 'element 1');
  });

  test('bad arguments to save', () => {
    assertThrowsMsg(() => io.save({ a: [1, 2] as unknown as ad.Tensor }), ValueError, "'a'", 'not a Tensor');
    assertThrowsMsg(() => io.save({ __metadata__: ad.zeros([1]) }), ValueError, 'reserved');
    assertThrowsMsg(() => io.save({}, { n: 3 as unknown as string }), ValueError, "metadata 'n'", 'strings');
    assertThrowsMsg(() => io.save({ a: ad.zeros([1]) }, null, { as: { float32: 'I64' } }), DTypeError, "'a'", 'F32');
    assertThrowsMsg(
      () => io.save({ a: ad.tensor([1, 300], { dtype: 'int32' }) }, null, { as: { int32: 'U8' } }),
      DTypeError,
      "'a' holds 300 at element 1",
      '[0, 255]',
    );
  });
});

describe('files', () => {
  test('saveFile / loadFile, written atomically (no temporary file left behind)', () => {
    const file = join(tmp, 'w.safetensors');
    io.saveFile({ w: ad.tensor([1, 2]) }, file, { note: 'x' });
    io.saveFile({ w: ad.tensor([3, 4]) }, file);
    assert.deepEqual(io.loadFile(file).w.toArray(), [3, 4]);
    assert.deepEqual(io.loadFileWithMetadata(file).metadata, null);
    assert.deepEqual(
      readdirSync(tmp).filter((f) => f.includes('.tmp-')),
      [],
    );
    assertThrowsMsg(() => io.saveFile({}, join(tmp, 'no-dir', 'x.safetensors')), AdjointError, 'could not write');
  });
});

// ----- checkpoints --------------------------------------------------------------------------------------------

interface Run {
  model: ad.nn.Module;
  opt: ad.optim.Adam;
  sched: ad.optim.StepLR;
  loader: ad.data.DataLoader<ad.Tensor[]>;
}

function setup(seed: number): Run {
  ad.manualSeed(seed);
  const model = mlp();
  const opt = new ad.optim.Adam(model.parameters(), { lr: 0.05 });
  const sched = new ad.optim.StepLR(opt, 2, { gamma: 0.5 });
  ad.manualSeed(100);
  const x = ad.randn([12, 4]);
  const y = ad.randn([12, 3]);
  const loader = new ad.data.DataLoader(new ad.data.TensorDataset(x, y), { batchSize: 4, shuffle: true, seed: 5 });
  return { model, opt, sched, loader };
}

/** One epoch; each step adds fresh noise from the global RNG, so a resumed run must restore the RNG too. */
function epoch({ model, opt, sched, loader }: Run): void {
  for (const [x, y] of loader) {
    opt.zeroGrad();
    const noisy = x.add(ad.randn(x.shape).mul(0.1));
    const loss = (model.forward(noisy) as ad.Tensor).sub(y).pow(2).mean();
    loss.backward();
    opt.step();
  }
  sched.step();
}

const paramBits = (m: ad.nn.Module) => m.parameters().map(bits);

describe('training checkpoints', () => {
  test('train, save, load into fresh objects, continue: bit-identical to an uninterrupted run', () => {
    const ref = setup(0);
    ad.manualSeed(42);
    for (let e = 0; e < 4; e++) epoch(ref);

    const first = setup(0);
    ad.manualSeed(42);
    epoch(first);
    epoch(first);
    const file = join(tmp, 'run.ckpt');
    const rngAtSave = ad.getRngState();
    io.saveCheckpoint(file, {
      model: first.model,
      optimizer: first.opt,
      scheduler: first.sched,
      step: 6,
      epoch: 2,
      extra: { loader: first.loader.stateDict(), note: 'half way', best: Number.POSITIVE_INFINITY, w: ad.ones([2]) },
    });

    const fresh = setup(7);
    ad.manualSeed(999);
    const info = io.loadCheckpoint(file, { model: fresh.model, optimizer: fresh.opt, scheduler: fresh.sched });
    assert.equal(info.step, 6);
    assert.equal(info.epoch, 2);
    assert.deepEqual(ad.getRngState(), rngAtSave);
    const extra = info.extra as { loader: { generator: number[] }; note: string; best: number; w: ad.Tensor };
    assert.equal(extra.note, 'half way');
    assert.equal(extra.best, Number.POSITIVE_INFINITY);
    assert.deepEqual(extra.w.toArray(), [1, 1]);
    fresh.loader.loadStateDict(extra.loader);
    assert.equal(fresh.opt.paramGroups[0].lr, first.opt.paramGroups[0].lr);
    epoch(fresh);
    epoch(fresh);
    assert.deepEqual(paramBits(fresh.model), paramBits(ref.model));
    ad.manualSeed(0);
  });

  test('a mismatched model, a missing optimizer state or a corrupt file changes nothing', () => {
    const run = setup(1);
    const file = join(tmp, 'm.ckpt');
    io.saveCheckpoint(file, { model: run.model, step: 1 });
    const full = join(tmp, 'full.ckpt');
    io.saveCheckpoint(full, { model: run.model, optimizer: run.opt, scheduler: run.sched, step: 1 });
    const other = setup(2);
    epoch(other);
    const wide = new nn.Linear(4, 9);
    class Two extends nn.Module {
      '0' = new nn.Linear(4, 8);
      '2' = new nn.Linear(8, 4);
    }
    const two = new Two();
    // An optimizer with other groups than the saved one: it rejects the state after the model was loaded.
    const [w0, ...ws] = other.model.parameters();
    const grouped = new ad.optim.Adam([{ params: [w0] }, { params: ws }], { lr: 0.1 });
    const picky = {
      stateDict: () => ({}),
      loadStateDict: () => {
        throw new Error('wrong groups');
      },
    };
    const bytes = readFileSync(full);
    const cut = join(tmp, 'cut.ckpt');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 10));
    const plain = join(tmp, 'plain.safetensors');
    io.saveFile(run.model.stateDict(), plain);

    const state = () => [
      paramBits(other.model),
      JSON.stringify(other.opt.stateDict(), (_, v) => (v instanceof ad.Tensor ? bits(v) : v)),
      JSON.stringify(other.sched.stateDict()),
      ad.getRngState(),
    ];
    const before = state();
    const fails = (fn: () => unknown, cls: new (...a: any[]) => Error, ...fragments: string[]) => {
      assertThrowsMsg(fn, cls, ...fragments);
      assert.deepEqual(state(), before, fragments.join(' '));
    };
    fails(
      () => io.loadCheckpoint(file, { model: other.model, optimizer: other.opt }),
      ValueError,
      'no optimizer state',
    );
    fails(
      () => io.loadCheckpoint(file, { model: wide }),
      ValueError,
      'missing keys weight, bias',
      'unexpected keys 0.',
    );
    fails(() => io.loadCheckpoint(file, { model: two }), ShapeError, "'model.2.weight'", '[3, 8]', '[4, 8]');
    fails(
      () => io.loadCheckpoint(full, { model: other.model, optimizer: grouped }),
      AdjointError,
      'the optimizer rejected its saved state',
      'parameter group',
    );
    fails(
      () => io.loadCheckpoint(full, { model: other.model, optimizer: other.opt, scheduler: picky }),
      AdjointError,
      'the scheduler rejected its saved state',
      'wrong groups',
    );
    fails(() => io.loadCheckpoint(cut, { model: other.model }), ValueError, 'cut.ckpt', 'truncated');
    fails(() => io.loadCheckpoint(plain, { model: other.model }), ValueError, 'not an adjoint checkpoint');
  });

  test('the model weights in a checkpoint are a plain safetensors file under model.*', () => {
    const run = setup(3);
    const file = join(tmp, 'w.ckpt');
    io.saveCheckpoint(file, { model: run.model, optimizer: run.opt, step: 0 });
    const { tensors, metadata } = io.loadFileWithMetadata(file);
    assert.equal(metadata?.format, 'adjoint.checkpoint');
    assert.equal(bits(tensors['model.0.weight']), bits(run.model.stateDict()['0.weight']));
    assert.ok(JSON.parse(metadata!.state).optimizer.param_groups);
  });

  test('a writer killed mid-save (SIGKILL) leaves the previous checkpoint intact', async () => {
    const dir = mkdtempSync(join(tmp, 'crash-'));
    const file = join(dir, 'model.ckpt');
    const n = 1 << 20;
    class Big extends nn.Module {
      w = nn.Parameter(ad.full([n], 1));
    }
    io.saveCheckpoint(file, { model: new Big(), step: 1 });
    const old = readFileSync(file);
    // The child saves step 2 (all twos) in 64 KiB chunks, pausing after each; it says when the first is written.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `
        import * as ad from './src/index.ts';
        class Big extends ad.nn.Module { w = ad.nn.Parameter(ad.full([${n}], 2)); }
        const pause = new Int32Array(new SharedArrayBuffer(4));
        ad.io.saveCheckpoint(${JSON.stringify(file)}, { model: new Big(), step: 2 }, {
          chunkSize: 1 << 16,
          onProgress: (written) => { if (written === 1 << 16) console.log('writing'); Atomics.wait(pause, 0, 0, 100); },
        });
        console.log('done');`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const said = await new Promise<string>((resolve) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('writing')) resolve(out);
      });
      child.on('exit', () => resolve(out));
    });
    assert.match(said, /writing/);
    const partial = readdirSync(dir).filter((f) => f.includes('.tmp-'));
    assert.equal(partial.length, 1, 'the temporary file is being written');
    child.kill('SIGKILL');
    const [, signal] = await new Promise<[number | null, string | null]>((r) => child.on('exit', (c, s) => r([c, s])));
    assert.equal(signal, 'SIGKILL');
    assert.deepEqual(readFileSync(file), old);
    assert.ok(statSync(join(dir, partial[0])).size < old.length, 'the killed write was partial');
    const m = new Big();
    const info = io.loadCheckpoint(file, { model: m });
    assert.equal(info.step, 1);
    assert.equal(m.w.min().item(), 1);
    // A later save replaces the file normally.
    io.saveCheckpoint(file, { model: m, step: 3 });
    assert.equal(io.loadCheckpoint(file, { model: m }).step, 3);
    assert.ok(existsSync(file));
  });
});
