#!/usr/bin/python3
"""Writes the safetensors fixtures that prove adjoint's reader and writer match PyTorch, and checks files adjoint wrote.

The `safetensors` Python package is not installed on the machines this runs on, so the format is written here by
hand, following the safetensors library (safetensors/src/tensor.rs) exactly: an 8-byte little-endian header length;
a compact JSON header with `__metadata__` first and then the tensors sorted by dtype alignment (descending, in the
crate's Dtype enum order) and then by name, each as {"dtype", "shape", "data_offsets"}; the header padded with spaces
to a multiple of 8 bytes; then the raw little-endian data in the same order.

    /usr/bin/python3 scripts/fixture_safetensors.py          # writes test/fixtures/torch_*.safetensors
    /usr/bin/python3 scripts/fixture_safetensors.py --verify FILE
        # reads FILE strictly, checks it is byte-identical to what this writer (so the safetensors library) would
        # write for the same tensors, loads its model keys into Sequential(Linear(4, 8), ReLU(), Linear(8, 3)) and
        # checks the model's predictions on the stored `input` against the stored `output`.

Needs torch (Debian's python3-torch); adjoint's tests only read the committed fixtures.
"""
import json
import math
import os
import struct
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, '..', 'test', 'fixtures')

# torch dtype -> (safetensors name, element size, struct format of one little-endian element)
DTYPES = {
    torch.float64: ('F64', 8),
    torch.float32: ('F32', 4),
    torch.float16: ('F16', 2),
    torch.bfloat16: ('BF16', 2),
    torch.int64: ('I64', 8),
    torch.int32: ('I32', 4),
    torch.int16: ('I16', 2),
    torch.int8: ('I8', 1),
    torch.uint8: ('U8', 1),
    torch.bool: ('BOOL', 1),
}
BY_NAME = {name: dt for dt, (name, _) in DTYPES.items()}
# The safetensors crate's Dtype enum, in its declared ("increasing alignment") order.
ALIGN_ORDER = ['BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64',
               'I64', 'U64']


def tensor_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        # numpy has no bfloat16: the same bits viewed as int16.
        t = t.view(torch.int16)
    a = t.numpy()
    return a.astype(a.dtype.newbyteorder('<')).tobytes() if a.dtype.byteorder == '>' else a.tobytes()


def serialize(tensors, metadata=None):
    items = sorted(tensors.items(), key=lambda kv: (-ALIGN_ORDER.index(DTYPES[kv[1].dtype][0]), kv[0]))
    header = {}
    if metadata is not None:
        header['__metadata__'] = dict(sorted(metadata.items()))
    blobs = []
    offset = 0
    for name, t in items:
        b = tensor_bytes(t)
        header[name] = {'dtype': DTYPES[t.dtype][0], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(',', ':'), ensure_ascii=False).encode('utf-8')
    h += b' ' * ((8 - len(h) % 8) % 8)
    return struct.pack('<Q', len(h)) + h + b''.join(blobs)


def deserialize(data):
    """Tensors and metadata of a safetensors file, with every check the safetensors library makes."""
    if len(data) < 8:
        raise ValueError('shorter than the 8-byte header length')
    (n,) = struct.unpack('<Q', data[:8])
    if n > 100_000_000 or 8 + n > len(data):
        raise ValueError(f'header length {n} does not fit in {len(data)} bytes')
    header = json.loads(data[8:8 + n].decode('utf-8'))
    metadata = header.pop('__metadata__', None)
    if metadata is not None and not all(isinstance(v, str) for v in metadata.values()):
        raise ValueError('metadata values must be strings')
    entries = sorted(header.items(), key=lambda kv: tuple(kv[1]['data_offsets']))
    end = 0
    tensors = {}
    for name, info in entries:
        s, e = info['data_offsets']
        dt = BY_NAME[info['dtype']]
        size = DTYPES[dt][1] * math.prod(info['shape'])
        if s != end or e - s != size:
            raise ValueError(f'bad data_offsets for {name}: {info}')
        end = e
        raw = bytearray(data[8 + n + s:8 + n + e])
        if dt == torch.bfloat16:
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16) if raw else torch.empty(0, dtype=dt)
        else:
            t = torch.frombuffer(raw, dtype=dt) if raw else torch.empty(0, dtype=dt)
        tensors[name] = t.reshape(info['shape']).clone()
    if 8 + n + end != len(data):
        raise ValueError(f'data ends at {8 + n + end} but the file has {len(data)} bytes')
    return tensors, metadata


def mlp():
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))


def write(name, tensors, metadata=None):
    path = os.path.join(FIXTURES, name)
    data = serialize(tensors, metadata)
    back, meta = deserialize(data)
    assert meta == metadata and all(torch.equal(back[k], tensors[k]) or back[k].isnan().any() for k in tensors)
    with open(path, 'wb') as f:
        f.write(data)
    print(f'wrote {os.path.relpath(path)} ({len(data)} bytes, {len(tensors)} tensors)')


def write_fixtures():
    torch.manual_seed(0)
    model = mlp()
    x = torch.randn(5, 4)
    with torch.no_grad():
        y = model(x)
    tensors = dict(model.state_dict())
    tensors['input'] = x
    tensors['output'] = y
    write('torch_mlp.safetensors', tensors)

    # Every dtype adjoint reads, with values that probe the conversions: F16/BF16 rounding (ties, subnormals,
    # overflow to infinity, NaN) done by torch itself, and I64 values at int32's limits.
    probe = torch.tensor([0.0, -0.0, 1.0, -2.5, 1 / 3, 65504.0, 65519.0, 65520.0, 1e5, 6.1e-5, 5.96e-8, 2.98e-8,
                          1e-10, 1.00048828125, 1.00146484375, 3.14159265, -1e30, float('inf'), float('-inf'),
                          float('nan'), 1.0 + 2 ** -8, 1.0 + 3 * 2 ** -8, 3.0e38, 1.17e-38], dtype=torch.float32)
    tensors = {
        'f32': probe,
        'f16': probe.half(),
        'bf16': probe.bfloat16(),
        'f16_as_f32': probe.half().float(),
        'bf16_as_f32': probe.bfloat16().float(),
        'f64': torch.tensor([[0.1, -1e300, 5e-324], [math.pi, -0.0, 2.0 ** 60]], dtype=torch.float64),
        'i64': torch.tensor([0, -1, 7, 2 ** 31 - 1, -2 ** 31], dtype=torch.int64),
        'i32': torch.tensor([[1, -2], [2 ** 31 - 1, -2 ** 31]], dtype=torch.int32),
        'i16': torch.tensor([-32768, 32767, 5], dtype=torch.int16),
        'i8': torch.tensor([-128, 127, 0], dtype=torch.int8),
        'u8': torch.tensor([0, 255, 17], dtype=torch.uint8),
        'mask': torch.tensor([[True, False, True]]),
        'scalar': torch.tensor(2.5),
        'empty': torch.zeros(0, 3),
        'a.long.name/with unicode é': torch.tensor([1.0]),
        '0': torch.tensor([3], dtype=torch.int32),
    }
    write('torch_dtypes.safetensors', tensors, {'format': 'pt', 'source': 'scripts/fixture_safetensors.py'})


def verify(path):
    with open(path, 'rb') as f:
        data = f.read()
    tensors, metadata = deserialize(data)
    print(f'{path}: {len(tensors)} tensors, metadata {metadata}')
    same = serialize(tensors, metadata) == data
    print(f'  byte-identical to the safetensors layout written from the same tensors: {same}')
    ok = same
    model = mlp()
    sd = {k: v for k, v in tensors.items() if k not in ('input', 'output')}
    result = model.load_state_dict(sd, strict=True)
    print(f'  load_state_dict(strict=True) into {model}: {result}')
    if 'input' in tensors and 'output' in tensors:
        with torch.no_grad():
            y = model(tensors['input'].to(torch.float32))
        err = (y.double() - tensors['output'].double()).abs().max().item()
        close = torch.allclose(y.double(), tensors['output'].double(), rtol=1e-5, atol=1e-6)
        print(f'  predictions vs the stored output: max abs difference {err:.3g}, allclose: {close}')
        ok = ok and close
    print('OK' if ok else 'FAILED')
    return 0 if ok else 1


if __name__ == '__main__':
    if len(sys.argv) == 3 and sys.argv[1] == '--verify':
        sys.exit(verify(sys.argv[2]))
    elif len(sys.argv) == 1:
        write_fixtures()
    else:
        print(__doc__)
        sys.exit(2)
