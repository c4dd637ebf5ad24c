"""@file PyTorch's column of bench/compare.ts: the same cases (GEMM, linear layer, MLP step, per-op chain, conv2d, the
four model training steps of bench/lib/models.ts, the memory of 200 MLP steps) on the CPU at each thread count given,
timed like the TypeScript side (warm up, repeat to a time budget, median; a model's step and forward alternately).
Prints one JSON object on stdout: {"version", "notes", "runs": {"1": {case id: result}, "2": ...}}. compare.ts runs
the memory section alone, in a fresh process, so nothing else has raised the peak first.

Usage: /usr/bin/python3 scripts/bench_torch.py --threads 1,2 [--quick]
       [--only gemm,linear,mlp,chain,conv,models,memory]
"""
import argparse
import json
import os
import resource
import statistics
import time

import torch
import torch.nn.functional as F

TARGET_S, TARGET_S_QUICK, MIN_REPS, MAX_REPS, HEAVY_S = 0.3, 0.1, 3, 200, 1.5
SIZES, SIZES_QUICK = [128, 256, 512, 1024, 2048], [128, 256, 512]
LINKS, LEN = 500, 4


def measure(fn, quick, warm=1, max_reps=MAX_REPS):
    for _ in range(warm):
        fn()
    target = TARGET_S_QUICK if quick else TARGET_S
    ts = []
    while len(ts) < max_reps:
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
        if (sum(ts) >= target and len(ts) >= MIN_REPS) or sum(ts) >= HEAVY_S:
            break
    return {"ms": statistics.median(ts) * 1000, "best": min(ts) * 1000, "reps": len(ts)}


def err(e):
    return {"err": f"{type(e).__name__}: {e}".splitlines()[0][:200]}


def case(fn_maker, quick, **kw):
    try:
        return measure(fn_maker(), quick, **kw)
    except Exception as e:  # one failing case must not cost the others
        return err(e)


def gemm(n, dtype, trans):
    A = torch.randn(n, n, dtype=dtype)
    A = A.mT if trans else A
    B = torch.randn(n, n, dtype=dtype)
    return lambda: A @ B


def linear_inputs():
    X = torch.randn(256, 1024, requires_grad=True)
    W = (torch.randn(1024, 1024) / 1024**0.5).requires_grad_()
    b = torch.randn(1024, requires_grad=True)
    return X, W, b


def linear_fwd():
    X, W, b = linear_inputs()
    return lambda: X.matmul(W).add(b)


def linear_fwd_bwd():
    X, W, b = linear_inputs()
    G = torch.randn(256, 1024)

    def run():
        for t in (X, W, b):
            t.grad = None
        X.matmul(W).add(b).backward(G)

    return run


def mlp_step():
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10)
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.randn(128, 784), torch.randint(0, 10, (128,))

    def run():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    return run


def chain(x):
    for _ in range(LINKS):
        x = x.mul(1.0001).add(0.0001)
    return x.sum()


def chain_fwd():
    leaf = torch.rand(LEN, requires_grad=True)
    return lambda: chain(leaf)


def chain_fwd_bwd():
    leaf = torch.rand(LEN, requires_grad=True)

    def run():
        leaf.grad = None
        chain(leaf).backward()

    return run


def conv_fwd_bwd():
    conv = torch.nn.Conv2d(3, 64, 3, padding=1)
    x, G = torch.randn(32, 3, 32, 32), torch.randn(32, 64, 32, 32)

    def run():
        conv.zero_grad()
        conv(x).backward(G)

    return run


# The models of bench/lib/models.ts: same shapes, losses and optimiser (SGD, lr 0.01); seeded 10 + the model's index.
MODELS = ["mlp", "cnn", "transformer", "lstm"]
MODEL_LR = 0.01
MEMORY_STEPS = 200


def model_mlp():
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10)
    )
    x, y = torch.randn(128, 784), torch.randint(0, 10, (128,))
    return model, lambda: F.cross_entropy(model(x), y)


def model_cnn():
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(64 * 7 * 7, 10),
    )
    x, y = torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))
    return model, lambda: F.cross_entropy(model(x), y)


def model_transformer():
    model = torch.nn.TransformerEncoderLayer(128, 4, dim_feedforward=512, dropout=0.0, batch_first=True)
    x, target = torch.randn(16, 64, 128), torch.randn(16, 64, 128)
    return model, lambda: F.mse_loss(model(x), target)


def model_lstm():
    model = torch.nn.LSTM(64, 256)
    x = torch.randn(50, 32, 64)
    return model, lambda: model(x)[0].mean()


def build_model(name):
    torch.manual_seed(10 + MODELS.index(name))
    model, loss = globals()[f"model_{name}"]()
    opt = torch.optim.SGD(model.parameters(), lr=MODEL_LR)

    def step():
        opt.zero_grad()
        loss().backward()
        opt.step()

    return step, loss


def model_timing(quick):
    """bench/lib/measure.ts's modelTiming: warm, min reps, budget (s), heavy limit (s)."""
    return (1, 3, 0.6, 5.0) if quick else (2, 5, 2.0, 10.0)


def measure_pair(a, b, quick):
    warm, min_reps, target, heavy = model_timing(quick)
    for _ in range(warm):
        a()
        b()
    ta, tb, total = [], [], 0.0
    while len(ta) < MAX_REPS:
        t0 = time.perf_counter()
        a()
        t1 = time.perf_counter()
        b()
        t2 = time.perf_counter()
        ta.append(t1 - t0)
        tb.append(t2 - t1)
        total += max(t1 - t0, t2 - t1)
        if (total >= target and len(ta) >= min_reps) or total >= heavy:
            break
    res = lambda ts: {"ms": statistics.median(ts) * 1000, "best": min(ts) * 1000, "reps": len(ts)}  # noqa: E731
    return res(ta), res(tb)


def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def mlp_memory(steps):
    """As bench/systems/adjoint.ts: setup is the model, the data and one step; the peak is getrusage's maxRSS."""
    step, _ = build_model("mlp")
    step()
    setup = rss_mib()
    for _ in range(steps):
        step()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10  # KiB on Linux
    return {"setupMiB": setup, "peakMiB": peak, "growthMiB": peak - setup, "steps": steps}


def run_all(quick, sections):
    out = {}
    if "gemm" in sections:
        for dtype, tag in ((torch.float32, "f32"), (torch.float64, "f64")):
            for trans in (False, True):
                for n in SIZES_QUICK if quick else SIZES:
                    out[f"gemm.{tag}{'T' if trans else ''}.n{n}"] = case(lambda: gemm(n, dtype, trans), quick)
    if "linear" in sections:
        out["linear.fwd"] = case(linear_fwd, quick)
        out["linear.fwdbwd"] = case(linear_fwd_bwd, quick)
    if "mlp" in sections:
        out["mlp.step"] = case(mlp_step, quick)
    if "chain" in sections:
        reps = 100 if quick else 400
        out["chain.fwd"] = case(chain_fwd, quick, warm=10, max_reps=reps)
        out["chain.fwdbwd"] = case(chain_fwd_bwd, quick, warm=10, max_reps=reps)
    if "conv" in sections:
        out["conv.fwdbwd"] = case(conv_fwd_bwd, quick)
    if "models" in sections:
        for m in MODELS:
            try:
                out[f"models.{m}.step"], out[f"models.{m}.fwd"] = measure_pair(*build_model(m), quick)
            except Exception as e:  # one failing model must not cost the others
                out[f"models.{m}.step"] = out[f"models.{m}.fwd"] = err(e)
    if "memory" in sections:
        try:
            out["memory.mlp"] = mlp_memory(MEMORY_STEPS)
        except Exception as e:
            out["memory.mlp"] = err(e)
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", default="1,2")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", default="gemm,linear,mlp,chain,conv,models,memory")
    a = p.parse_args()
    sections = set(a.only.split(","))
    env = {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS") or k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    notes = [f"torch {torch.__version__}; env: " + (", ".join(f"{k}={v}" for k, v in sorted(env.items())) or "no OPENBLAS_*/OMP_* set")]
    runs = {}
    for t in (int(s) for s in a.threads.split(",")):
        torch.set_num_threads(t)
        torch.manual_seed(0)
        runs[str(t)] = run_all(a.quick, sections)
    print(json.dumps({"version": torch.__version__, "notes": notes, "runs": runs}))


if __name__ == "__main__":
    main()
