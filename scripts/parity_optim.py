"""Writes test/fixtures/parity-optim.json: what torch.optim (PyTorch 1.13) does, for test/optim.test.ts to match.

- optimizers: each configuration (every option of SGD, Adam, AdamW, RMSprop and Adagrad, and parameter groups) runs
  5 steps on fixed float64 parameters with fixed float64 gradients per step (p.grad set directly; a null gradient
  skips that parameter for that step). Recorded: the parameters after every step, and the state dict after step 3
  and after step 5 (to check the format, and that loading PyTorch's state mid-run continues PyTorch's run).
- schedulers: each scheduler (or pair of chained schedulers) on an optimizer with two groups runs 30 steps.
  Recorded: each group's lr (and, for OneCycleLR, momentum or beta1) after construction and after every step, and
  the scheduler's state dict at the end.
- clip: clip_grad_norm_ (orders 1, 2, 3, inf; clipping and not) and clip_grad_value_ on step 0's gradients (grads0).

Options are written with adjoint's camelCase names, as the test passes them; they are converted to PyTorch's here.
Run with /usr/bin/python3 (PyTorch 1.13): /usr/bin/python3 scripts/parity_optim.py
"""

import re

import torch

from parity_common import fixture_path, write_fixture

FIXTURE = fixture_path("parity-optim")

STEPS = 5
SCHED_STEPS = 30
SHAPES = [[2, 3], [4]]
# Gradient scales per step: shrinking ones make amsgrad's running maximum differ from the current estimate.
SCALES = [1.0, 2.0, 0.3, 1.5, 0.1]


def snake(k):
    return re.sub(r"[A-Z]", lambda m: "_" + m.group(0).lower(), k)


def torch_kwargs(opts):
    out = {}
    for k, v in opts.items():
        out[snake(k)] = tuple(v) if k == "betas" else v
    return out


def enc_tensor(t):
    return {"shape": list(t.shape), "data": t.detach().reshape(-1).tolist()}


def enc_state_dict(sd):
    """A torch optimizer state dict as JSON: tensors as {shape, data}, 0-d step tensors as numbers."""
    state = {}
    for i, s in sd["state"].items():
        entry = {}
        for k, v in s.items():
            if isinstance(v, torch.Tensor):
                entry[k] = v.item() if k == "step" else enc_tensor(v)
            else:
                entry[k] = v
        state[str(i)] = entry
    groups = []
    for g in sd["param_groups"]:
        groups.append({k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()})
    return {"state": state, "param_groups": groups}


def base_params():
    gen = torch.Generator().manual_seed(1)
    return [torch.randn(s, generator=gen, dtype=torch.float64) for s in SHAPES]


def base_grads():
    gen = torch.Generator().manual_seed(2)
    return [[torch.randn(s, generator=gen, dtype=torch.float64) * SCALES[t] for s in SHAPES] for t in range(STEPS)]


OPTIMIZERS = [
    ("sgd", "SGD", {"lr": 0.1}),
    ("sgd_momentum", "SGD", {"lr": 0.1, "momentum": 0.9}),
    ("sgd_dampening", "SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}),
    ("sgd_nesterov", "SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True}),
    ("sgd_weight_decay", "SGD", {"lr": 0.1, "momentum": 0.5, "weightDecay": 0.01}),
    ("sgd_maximize", "SGD", {"lr": 0.1, "momentum": 0.9, "maximize": True}),
    ("sgd_all", "SGD", {"lr": 0.07, "momentum": 0.6, "weightDecay": 0.2, "nesterov": True, "maximize": True}),
    ("adam", "Adam", {}),
    ("adam_lr", "Adam", {"lr": 0.05}),
    ("adam_betas_eps", "Adam", {"lr": 0.01, "betas": [0.8, 0.99], "eps": 1e-6}),
    ("adam_weight_decay", "Adam", {"lr": 0.01, "weightDecay": 0.1}),
    ("adam_amsgrad", "Adam", {"lr": 0.01, "amsgrad": True}),
    ("adam_all", "Adam", {"lr": 0.02, "betas": [0.7, 0.95], "eps": 1e-4, "weightDecay": 0.05, "amsgrad": True,
                          "maximize": True}),
    ("adamw", "AdamW", {"lr": 0.01}),
    ("adamw_amsgrad", "AdamW", {"lr": 0.01, "weightDecay": 0.1, "amsgrad": True}),
    ("adamw_maximize", "AdamW", {"lr": 0.01, "betas": [0.5, 0.9], "eps": 1e-3, "maximize": True}),
    ("rmsprop", "RMSprop", {"lr": 0.01}),
    ("rmsprop_alpha_eps", "RMSprop", {"lr": 0.01, "alpha": 0.9, "eps": 1e-6}),
    ("rmsprop_weight_decay", "RMSprop", {"lr": 0.01, "weightDecay": 0.1}),
    ("rmsprop_momentum", "RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("rmsprop_centered", "RMSprop", {"lr": 0.01, "centered": True}),
    ("rmsprop_all", "RMSprop", {"lr": 0.01, "alpha": 0.8, "centered": True, "momentum": 0.5, "weightDecay": 0.01,
                                "maximize": True}),
    ("adagrad", "Adagrad", {"lr": 0.1}),
    ("adagrad_lr_decay", "Adagrad", {"lr": 0.1, "lrDecay": 0.1}),
    ("adagrad_weight_decay", "Adagrad", {"lr": 0.1, "weightDecay": 0.1}),
    ("adagrad_initial_eps", "Adagrad", {"lr": 0.1, "initialAccumulatorValue": 0.5, "eps": 1e-6}),
    ("adagrad_maximize", "Adagrad", {"lr": 0.1, "lrDecay": 0.05, "maximize": True}),
]

# Parameter groups with their own options, over the defaults in the second element.
GROUPS = [
    ("sgd_groups", "SGD", {"lr": 0.01, "momentum": 0.9, "nesterov": True},
     [{"params": [0], "lr": 0.2, "momentum": 0.5}, {"params": [1]}]),
    ("adam_groups", "Adam", {"lr": 0.01},
     [{"params": [1], "lr": 0.1, "betas": [0.5, 0.6], "amsgrad": True}, {"params": [0], "weightDecay": 0.3}]),
    ("rmsprop_groups", "RMSprop", {"lr": 0.01, "momentum": 0.3},
     [{"params": [0], "centered": True}, {"params": [1], "lr": 0.03, "momentum": 0}]),
    ("adagrad_groups", "Adagrad", {"lr": 0.1},
     [{"params": [0], "lrDecay": 0.2}, {"params": [1], "lr": 0.3}]),
]

# Gradients that are null at some steps: the parameter is skipped (and its state not created) then.
SKIPS = {"sgd_skip": ("SGD", {"lr": 0.1, "momentum": 0.9}), "adam_skip": ("Adam", {"lr": 0.01, "amsgrad": True}),
         "rmsprop_skip": ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5}),
         "adagrad_skip": ("Adagrad", {"lr": 0.1})}
SKIP_MASK = [[True, False], [True, True], [False, True], [True, False], [True, True]]


def run_optimizer(name, cls, opts, groups=None, mask=None):
    params = [p.clone().requires_grad_(True) for p in base_params()]
    grads = base_grads()
    Opt = getattr(torch.optim, cls)
    if groups is None:
        opt = Opt(params, **torch_kwargs(opts))
    else:
        tg = []
        for g in groups:
            tg.append({**torch_kwargs({k: v for k, v in g.items() if k != "params"}),
                       "params": [params[i] for i in g["params"]]})
        opt = Opt(tg, **torch_kwargs(opts))
    expected, grad_log, mid = [], [], None
    for t in range(STEPS):
        step_grads = []
        for i, p in enumerate(params):
            if mask is not None and not mask[t][i]:
                p.grad = None
                step_grads.append(None)
            else:
                p.grad = grads[t][i].clone()
                step_grads.append(grads[t][i].reshape(-1).tolist())
        opt.step()
        grad_log.append(step_grads)
        expected.append([p.detach().reshape(-1).tolist() for p in params])
        if t == 2:
            mid = enc_state_dict(opt.state_dict())
    return {
        "name": name,
        "optimizer": cls,
        "options": opts,
        "groups": groups,
        "params": [enc_tensor(p) for p in base_params()],
        "grads": grad_log,
        "expected": expected,
        "state_dict_mid": mid,
        "state_dict": enc_state_dict(opt.state_dict()),
    }


# Schedulers: (name, optimizer, optimizer options, [(scheduler, positional args, options), ...]).
POSITIONAL = {"StepLR": ["step_size"], "MultiStepLR": ["milestones"], "ExponentialLR": ["gamma"],
              "CosineAnnealingLR": ["T_max"], "LinearLR": [], "OneCycleLR": ["max_lr"]}
SCHEDULERS = [
    ("step", "SGD", {}, [("StepLR", [7], {"gamma": 0.5})]),
    ("step_default", "SGD", {}, [("StepLR", [3], {})]),
    ("multistep", "SGD", {}, [("MultiStepLR", [[3, 8, 8, 20]], {"gamma": 0.3})]),
    ("exponential", "SGD", {}, [("ExponentialLR", [0.9], {})]),
    ("cosine", "SGD", {}, [("CosineAnnealingLR", [10], {})]),
    ("cosine_eta_min", "SGD", {}, [("CosineAnnealingLR", [7], {"etaMin": 0.001})]),
    ("linear_default", "SGD", {}, [("LinearLR", [], {})]),
    ("linear", "SGD", {}, [("LinearLR", [], {"startFactor": 0.1, "endFactor": 0.9, "totalIters": 12})]),
    ("onecycle", "SGD", {"momentum": 0.9}, [("OneCycleLR", [0.5], {"totalSteps": 30})]),
    ("onecycle_linear_epochs", "SGD", {"momentum": 0.9},
     [("OneCycleLR", [[0.5, 0.2]], {"epochs": 6, "stepsPerEpoch": 5, "annealStrategy": "linear", "pctStart": 0.4,
                                     "divFactor": 10.0, "finalDivFactor": 100.0,
                                     "baseMomentum": [0.8, 0.7], "maxMomentum": [0.9, 0.95]})]),
    ("onecycle_three_phase", "SGD", {"momentum": 0.9},
     [("OneCycleLR", [0.5], {"totalSteps": 40, "threePhase": True, "baseMomentum": 0.8, "maxMomentum": 0.9})]),
    ("onecycle_adam", "Adam", {"betas": [0.9, 0.99]}, [("OneCycleLR", [0.01], {"totalSteps": 35, "pctStart": 0.25})]),
    ("onecycle_no_momentum", "Adagrad", {}, [("OneCycleLR", [0.3], {"totalSteps": 30, "cycleMomentum": False})]),
    ("warmup_cosine", "SGD", {}, [("LinearLR", [], {"startFactor": 0.2, "totalIters": 5}),
                                  ("CosineAnnealingLR", [20], {"etaMin": 0.0005})]),
]
GROUP_LRS = [0.1, 0.02]


def sched_state(s):
    out = {}
    for k, v in s.state_dict().items():
        if callable(v):
            continue  # OneCycleLR's anneal_func: a bound method in 1.13
        if k == "milestones":
            v = {str(m): c for m, c in v.items()}
        out[k] = v
    return out


def run_scheduler(name, cls, opts, scheds):
    params = [p.clone().requires_grad_(True) for p in base_params()]
    Opt = getattr(torch.optim, cls)
    opt = Opt([{"params": [params[0]], "lr": GROUP_LRS[0]}, {"params": [params[1]], "lr": GROUP_LRS[1]}],
              **torch_kwargs({"lr": GROUP_LRS[0], **opts}))
    made = []
    for sname, args, sopts in scheds:
        kw = {POSITIONAL[sname][i]: a for i, a in enumerate(args)}
        made.append(getattr(torch.optim.lr_scheduler, sname)(opt, **kw, **torch_kwargs(sopts)))

    def momentum():
        return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]

    lrs, moms = [[g["lr"] for g in opt.param_groups]], [momentum()]
    for _ in range(SCHED_STEPS):
        opt.step()  # no gradients: a no-op, called so the order is the one PyTorch asks for
        for s in made:
            s.step()
        lrs.append([g["lr"] for g in opt.param_groups])
        moms.append(momentum())
    return {
        "name": name,
        "optimizer": cls,
        "options": opts,
        "group_lrs": GROUP_LRS,
        "schedulers": [{"scheduler": n, "args": a, "options": o} for n, a, o in scheds],
        "lrs": lrs,
        "momentum": moms if any(m is not None for m in moms[0]) else None,
        "state_dicts": [sched_state(s) for s in made],
        "optimizer_state_dict": enc_state_dict(opt.state_dict()),
    }


def run_clip():
    """clip_grad_norm_ for several orders, clipping and not, and clip_grad_value_, on step 0's gradients."""
    out = []
    for norm_type in [2.0, 1.0, 3.0, float("inf")]:
        for max_norm in [1.0, 100.0]:
            params = [p.clone().requires_grad_(True) for p in base_params()]
            for p, g in zip(params, base_grads()[0]):
                p.grad = g.clone()
            total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
            out.append({"fn": "clipGradNorm_", "max_norm": max_norm,
                        "norm_type": "inf" if norm_type == float("inf") else norm_type,
                        "total": total.item(), "grads": [p.grad.reshape(-1).tolist() for p in params]})
    params = [p.clone().requires_grad_(True) for p in base_params()]
    for p, g in zip(params, base_grads()[0]):
        p.grad = g.clone()
    torch.nn.utils.clip_grad_value_(params, 0.5)
    out.append({"fn": "clipGradValue_", "clip_value": 0.5, "grads": [p.grad.reshape(-1).tolist() for p in params]})
    return out


def main():
    torch.set_default_dtype(torch.float64)
    cases = [run_optimizer(n, c, o) for n, c, o in OPTIMIZERS]
    cases += [run_optimizer(n, c, o, groups=g) for n, c, o, g in GROUPS]
    cases += [run_optimizer(n, c, o, mask=SKIP_MASK) for n, (c, o) in SKIPS.items()]
    scheds = [run_scheduler(*s) for s in SCHEDULERS]
    fixture = {
        "torch": torch.__version__,
        "steps": STEPS,
        "scheduler_steps": SCHED_STEPS,
        "optimizers": cases,
        "schedulers": scheds,
        "grads0": [g.reshape(-1).tolist() for g in base_grads()[0]],
        "clip": run_clip(),
    }
    write_fixture(FIXTURE, fixture, f"{len(cases)} optimizer and {len(scheds)} scheduler cases")


if __name__ == "__main__":
    main()
