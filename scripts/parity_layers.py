"""Writes test/fixtures/parity-layers.json: float64 PyTorch references for adjoint's basic layers (src/nn/linear.ts,
embedding.ts, dropout.ts, activation.ts, loss.ts, container.ts).

Each case holds the module's repr, its state dict (keys in torch's order), the inputs, the output, and the gradients
of a random linear functional sum(out * cot) with respect to every float input and every parameter.
test/parity-layers.test.ts builds the same module (its table mirrors CASES below by name), checks that its state-dict
keys, shapes and repr are torch's, loads the state dict, and compares the output and gradients within 1e-10
relative; tests never need torch.

Run with /usr/bin/python3 (PyTorch 1.13): /usr/bin/python3 scripts/parity_layers.py
"""

import torch
from torch import nn

from parity_common import enc, fixture_path, write_fixture

FIXTURE = fixture_path("parity-layers")


class Net(nn.Module):
    """Nested containers, for the dotted names layers.1.bias and heads.out.weight."""

    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(3, 4), nn.Linear(4, 4)])
        self.heads = nn.ModuleDict({"out": nn.Linear(4, 2), "aux": nn.Bilinear(4, 3, 1)})

    def forward(self, x):
        h = torch.tanh(self.layers[1](torch.relu(self.layers[0](x))))
        return torch.cat([self.heads["out"](h), self.heads["aux"](h, x)], dim=-1)


def floats(*shape):
    return torch.randn(*shape).requires_grad_(True)


def longs(values):
    # adjoint's indices are int32; torch's embedding and targets need int64. The values are the same.
    return torch.tensor(values, dtype=torch.int64)


# name -> (module factory, input factory, eval mode)
CASES = {
    "linear": (lambda: nn.Linear(4, 3), lambda: [floats(2, 4)], False),
    "linear_nobias_batched": (lambda: nn.Linear(4, 3, bias=False), lambda: [floats(2, 5, 4)], False),
    "linear_unbatched": (lambda: nn.Linear(3, 2), lambda: [floats(3)], False),
    "bilinear": (lambda: nn.Bilinear(3, 4, 2), lambda: [floats(5, 3), floats(5, 4)], False),
    "bilinear_nobias_batched": (lambda: nn.Bilinear(2, 3, 4, bias=False), lambda: [floats(2, 3, 2), floats(2, 3, 3)],
                                False),
    "embedding": (lambda: nn.Embedding(5, 4), lambda: [longs([[3, 0, 3], [1, 4, 3]])], False),
    "embedding_padding": (lambda: nn.Embedding(7, 3, padding_idx=2), lambda: [longs([[0, 2, 5, 2], [6, 1, 1, 2]])],
                          False),
    "embedding_negative_padding_freq": (lambda: nn.Embedding(6, 2, padding_idx=-1, scale_grad_by_freq=True),
                                        lambda: [longs([5, 0, 0, 3, 5, 0])], False),
    "sequential": (lambda: nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2)), lambda: [floats(3, 4)], False),
    "sequential_activations": (
        lambda: nn.Sequential(nn.Linear(4, 6), nn.GELU(), nn.Linear(6, 6), nn.SiLU(), nn.LeakyReLU(0.1), nn.ELU(0.5),
                              nn.Tanh(), nn.Linear(6, 5), nn.Sigmoid(), nn.Linear(5, 3), nn.GELU(approximate="tanh"),
                              nn.Softplus(), nn.LogSoftmax(dim=1)),
        lambda: [floats(3, 4)], False),
    "sequential_softmax": (lambda: nn.Sequential(nn.Flatten(), nn.Linear(6, 4), nn.Softmax(dim=-1)),
                           lambda: [floats(2, 2, 3)], False),
    "flatten": (lambda: nn.Flatten(), lambda: [floats(2, 3, 4)], False),
    "flatten_range": (lambda: nn.Flatten(0, 1), lambda: [floats(2, 3, 4)], False),
    "unflatten": (lambda: nn.Unflatten(1, (3, -1)), lambda: [floats(2, 12, 2)], False),
    "identity": (lambda: nn.Identity(), lambda: [floats(2, 3)], False),
    "dropout_eval": (lambda: nn.Dropout(0.3), lambda: [floats(3, 4)], True),
    "nested_containers": (lambda: Net(), lambda: [floats(2, 3)], False),
    "cross_entropy_loss": (lambda: nn.CrossEntropyLoss(weight=torch.tensor([0.5, 1.0, 2.0]), label_smoothing=0.1),
                           lambda: [floats(4, 3), longs([0, 2, 1, 2])], False),
    "bce_with_logits_loss": (lambda: nn.BCEWithLogitsLoss(pos_weight=torch.tensor([1.5, 0.5]), reduction="sum"),
                             lambda: [floats(3, 2), torch.rand(3, 2)], False),
}


def run(name, make_module, make_inputs, eval_mode):
    m = make_module().double()
    if eval_mode:
        m.eval()
    xs = make_inputs()
    out = m(*xs)
    cot = torch.randn(out.shape)
    params = list(m.named_parameters())
    wrt = [x for x in xs if x.requires_grad] + [p for _, p in params]
    grads = torch.autograd.grad((out * cot).sum(), wrt, allow_unused=True)
    by_id = {id(t): g for t, g in zip(wrt, grads)}

    def grad_of(t):
        g = by_id.get(id(t))
        return None if g is None else enc(g)["values"]

    return {
        "repr": repr(m),
        "eval": eval_mode,
        "state": [[k, enc(v)] for k, v in m.state_dict().items()],
        "inputs": [{"dtype": "int32" if x.dtype == torch.int64 else "float64", "grad": x.requires_grad, **enc(x)}
                   for x in xs],
        "output": enc(out),
        "cotangent": enc(cot)["values"],
        "inputGrads": [grad_of(x) if x.requires_grad else None for x in xs],
        "paramGrads": [[k, grad_of(p)] for k, p in params],
    }


def main():
    torch.manual_seed(0)
    torch.set_default_dtype(torch.float64)
    cases = {name: run(name, *spec) for name, spec in CASES.items()}
    write_fixture(FIXTURE, {"made_by": "scripts/parity_layers.py", "torch": torch.__version__, "cases": cases},
                  f"{len(cases)} cases")


if __name__ == "__main__":
    main()
