"""What the scripts that write the PyTorch parity fixtures (scripts/parity_*.py, test/fixtures/parity-*.json) share:
where a fixture goes and how it is written, the two tensor encodings the tests decode (test/parity-fixtures.ts), and
the stepped-case harness (a module with a random state dict and steps of inputs, outputs, gradients and buffers)
that parity_norm_attention.py and parity_transformer.py use.

Run the scripts with /usr/bin/python3 (PyTorch 1.13), then `npm run format` (the committed fixtures are
biome-formatted).
"""

import json
import math
import os

import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def fixture_path(name):
    """test/fixtures/<name>.json."""
    return os.path.join(ROOT, "test", "fixtures", f"{name}.json")


def write_fixture(path, data, what):
    """Writes data as compact JSON (biome formats it), and says what was written where."""
    with open(path, "w") as f:
        json.dump(data, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {what} to {os.path.relpath(path, ROOT)} ({os.path.getsize(path) // 1024} KiB)")


def enc(t):
    """A float64 tensor as {shape, values} (test/parity-fixtures.ts's Enc)."""
    return {"shape": list(t.shape), "values": t.detach().reshape(-1).tolist()}


# ----- stepped cases: tensors of any dtype as {shape, dtype, values} -------------------------------------------

# PyTorch's int64 buffers (num_batches_tracked) are int64 in adjoint too.
DTYPE_NAMES = {torch.float64: "float64", torch.int64: "int64", torch.bool: "bool"}


def encode(t):
    """A tensor as {shape, dtype, values}; non-finite floats as strings, since JSON has none."""
    t = t.detach()
    vals = t.reshape(-1).tolist()
    if t.dtype == torch.float64:
        vals = [v if math.isfinite(v) else ("-inf" if v < 0 else "inf" if v > 0 else "nan") for v in vals]
    return {"shape": list(t.shape), "dtype": DTYPE_NAMES[t.dtype], "values": vals}


def randomize(module, gen):
    """Random parameters and running statistics, so the comparison sees non-trivial values everywhere."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            base = 1.0 if name.endswith("weight") and p.dim() == 1 else 0.0
            p.copy_(base + (torch.rand(p.shape, generator=gen) * 2 - 1) * 0.5)
        for name, b in module.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.rand(b.shape, generator=gen) - 0.5)
            elif name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=gen) + 0.5)
            elif name.endswith("num_batches_tracked"):
                b.fill_(3)


def rand(gen, *shape, low=-2.0, high=2.0):
    return torch.rand(shape, generator=gen) * (high - low) + low


def bools(rows):
    return torch.tensor(rows, dtype=torch.bool)


def run_step(module, train, inputs, call, gen):
    """One forward and backward. inputs: name -> tensor (float ones are differentiated); call returns a tuple."""
    module.train(train)
    xs = {k: (v.clone().requires_grad_(True) if v.dtype == torch.float64 else v.clone()) for k, v in inputs.items()}
    outs = [o for o in call(module, xs) if o is not None]
    cots = [rand(gen, *o.shape, low=-1.0, high=1.0) for o in outs]
    loss = sum((o * c).sum() for o, c in zip(outs, cots))
    module.zero_grad(set_to_none=True)
    wrt = [v for v in xs.values() if v.requires_grad]
    loss.backward(inputs=wrt + list(module.parameters()))
    return {
        "train": train,
        "inputs": {k: encode(v) for k, v in inputs.items()},
        "outputs": [encode(o) for o in outs],
        "cotangents": [encode(c) for c in cots],
        "inputGrads": {k: encode(v.grad) for k, v in xs.items() if v.requires_grad and v.grad is not None},
        "paramGrads": {k: encode(p.grad) for k, p in module.named_parameters() if p.grad is not None},
        "buffers": {k: encode(b) for k, b in module.named_buffers()},
    }


def make_case(name, module, steps, seed):
    """steps: list of (train, inputs_fn(gen) -> dict, call(module, xs) -> tuple)."""
    gen = torch.Generator().manual_seed(seed)
    randomize(module, gen)
    state = {k: encode(v) for k, v in module.state_dict().items()}
    return {
        "name": name,
        "state": state,
        "steps": [run_step(module, train, inputs(gen), call, gen) for train, inputs, call in steps],
    }
