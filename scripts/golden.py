"""Second half of `npm run golden`: evaluates every case written by scripts/golden-export.ts with PyTorch, in
float64, and writes test/fixtures/golden.jsonl: each case's output and the vector-Jacobian product of its cotangent
with respect to every float input. test/golden.test.ts checks our ops against it; tests never need torch.

Run with /usr/bin/python3 (PyTorch 1.13). Usage: golden.py [cases.json] [fixture.jsonl]
"""

import json
import math
import os
import sys
import traceback

import torch
import torch.nn.functional as F

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CASES = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".tmp", "golden-cases.json")
FIXTURE = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "test", "fixtures", "golden.jsonl")

# Our int32 index tensors are Long in PyTorch too (gather, scatter_add, one_hot, index_select and losses' targets need
# int64); their results are compared by value, so nothing else changes. int64 is int64.
DTYPES = {"float64": torch.float64, "float32": torch.float32, "int64": torch.int64, "int32": torch.int64,
          "bool": torch.bool}
# PyTorch's result dtype by our name; test/golden.test.ts accepts our int32 for its int64 (our default integer dtype,
# as argmax's indices).
OUR_DTYPE = {torch.float64: "float64", torch.float32: "float32", torch.int64: "int64", torch.int32: "int32",
             torch.bool: "bool"}


def decode(v):
    return v if not isinstance(v, str) else {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}[v]


def encode(v):
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


def values(t):
    return [encode(v) for v in t.detach().reshape(-1).tolist()]


def make_input(spec):
    t = torch.tensor([decode(v) for v in spec["values"]], dtype=DTYPES[spec["dtype"]]).reshape(spec["shape"])
    return t.requires_grad_(spec["grad"])


def run(case):
    xs = [make_input(s) for s in case["inputs"]]
    fn = eval(case["torch"], {"torch": torch, "F": F, "math": math})  # noqa: S307 - our own sample expressions
    out = fn(*xs)
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"the expression gave a {type(out).__name__}, not a tensor")
    entry = {
        "key": case["key"],
        "torch": case["torch"],
        "hash": case["hash"],
        "out": {"shape": list(out.shape), "dtype": OUR_DTYPE[out.dtype], "values": values(out)},
    }
    if case["cotangent"] is not None:
        wrt = [x for x in xs if x.requires_grad]
        grads = [None] * len(wrt)
        if out.requires_grad and wrt:
            cot = torch.tensor([decode(v) for v in case["cotangent"]], dtype=out.dtype).reshape(out.shape)
            grads = torch.autograd.grad(out, wrt, cot, allow_unused=True)
        by_input = {id(x): g for x, g in zip(wrt, grads)}
        # One slot per input: null for inputs that are not differentiated or that the output does not depend on.
        entry["grads"] = [None if by_input.get(id(x)) is None else values(by_input[id(x)]) for x in xs]
    return entry


def main():
    with open(CASES) as f:
        cases = json.load(f)["entries"]
    torch.set_default_dtype(torch.float64)
    entries, failed = [], []
    for case in cases:
        try:
            entries.append(run(case))
        except Exception:  # noqa: BLE001 - every failing case is reported, then the run fails
            failed.append(f"{case['key']}: {case['torch']}\n{traceback.format_exc(limit=1)}")
    os.makedirs(os.path.dirname(FIXTURE), exist_ok=True)
    # JSON Lines, one case a line after a header: compact, and a diff shows which cases changed.
    header = {"made_by": "npm run golden (scripts/golden-export.ts, scripts/golden.py)", "torch": torch.__version__}
    with open(FIXTURE, "w") as f:
        for e in [header, *entries]:
            f.write(json.dumps(e, separators=(",", ":"), allow_nan=False) + "\n")
    print(f"golden.py: {len(entries)} cases → {os.path.relpath(FIXTURE)} ({os.path.getsize(FIXTURE) // 1024} KiB)")
    # The others are still written, so one broken expression does not hold back the rest; the test names the missing.
    if failed:
        sys.stderr.write(f"\ngolden.py: {len(failed)} expressions failed in PyTorch {torch.__version__}:\n\n")
        sys.stderr.write("\n".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
