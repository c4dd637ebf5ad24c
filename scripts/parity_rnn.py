"""Writes test/fixtures/parity-rnn.json: float64 PyTorch references for adjoint's recurrent layers (src/nn/rnn.ts).

Each case holds the layer's constructor arguments (adjoint's camelCase options), its state dict (keys in torch's
order), an input and initial states, the outputs and final states, and the gradients of a random linear functional
sum(out * cot_out) + sum(h_n * cot_h) [+ sum(c_n * cot_c)] with respect to the input, the initial states and every
parameter. test/parity-rnn.test.ts loads the state dicts into adjoint's layers and compares everything within 1e-10
relative; tests never need torch.

Run with /usr/bin/python3 (PyTorch 1.13): /usr/bin/python3 scripts/parity_rnn.py
"""

import torch

from parity_common import enc, fixture_path, write_fixture

FIXTURE = fixture_path("parity-rnn")

LAYERS = {"RNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}
CELLS = {"RNNCell": torch.nn.RNNCell, "LSTMCell": torch.nn.LSTMCell, "GRUCell": torch.nn.GRUCell}
TORCH_KW = {"numLayers": "num_layers", "bias": "bias", "batchFirst": "batch_first", "dropout": "dropout",
            "bidirectional": "bidirectional", "projSize": "proj_size", "nonlinearity": "nonlinearity"}


def case(name, kind, input_size, hidden_size, options, input_shape, with_state, train=True):
    """One layer or cell at fresh random parameters; `options` are adjoint's (camelCase) constructor options."""
    kw = {TORCH_KW[k]: v for k, v in options.items()}
    cls = LAYERS.get(kind) or CELLS[kind]
    m = cls(input_size, hidden_size, **kw).double().train(train)
    x = torch.randn(*input_shape).requires_grad_(True)
    cell = kind in CELLS
    lstm = kind.startswith("LSTM")
    unbatched = x.dim() == (1 if cell else 2)
    batch = None if unbatched else (x.shape[0] if cell or options.get("batchFirst") else x.shape[1])
    state_shapes = []
    if with_state:
        if cell:
            rows = []
            h_out = c_size = hidden_size
        else:
            dirs = 2 if options.get("bidirectional") else 1
            rows = [options.get("numLayers", 1) * dirs]
            h_out, c_size = options.get("projSize") or hidden_size, hidden_size
        mid = [] if unbatched else [batch]
        state_shapes = [rows + mid + [h_out]] + ([rows + mid + [c_size]] if lstm else [])
    hx = [(0.5 * torch.randn(*s)).requires_grad_(True) for s in state_shapes]
    arg = None if not hx else (tuple(hx) if lstm else hx[0])
    out = m(x) if arg is None else m(x, arg)
    if cell:
        outs = list(out) if lstm else [out]
    else:
        outs = [out[0]] + (list(out[1]) if lstm else [out[1]])
    cots = [torch.randn(*o.shape) for o in outs]
    functional = sum((o * c).sum() for o, c in zip(outs, cots))
    params = list(m.named_parameters())
    grads = torch.autograd.grad(functional, [x] + hx + [p for _, p in params])
    sd = m.state_dict()
    return {
        "name": name,
        "kind": kind,
        "args": [input_size, hidden_size],
        "options": options,
        "train": train,
        "keys": list(sd.keys()),
        "state": {k: enc(v) for k, v in sd.items()},
        "input": enc(x),
        "hx": [enc(h) for h in hx],
        "outputs": [enc(o) for o in outs],
        "cotangents": [enc(c) for c in cots],
        "grads": {
            "input": enc(grads[0]),
            "hx": [enc(g) for g in grads[1:1 + len(hx)]],
            "params": {k: enc(g) for (k, _), g in zip(params, grads[1 + len(hx):])},
        },
    }


def main():
    torch.manual_seed(1234)
    bi2 = {"numLayers": 2, "bidirectional": True}
    cases = [
        case("LSTM 2 layers bidirectional, seq first", "LSTM", 3, 4, bi2, (5, 2, 3), True),
        case("LSTM 2 layers bidirectional, batchFirst", "LSTM", 3, 4, {**bi2, "batchFirst": True}, (3, 6, 3), True),
        case("LSTM projSize 2, 2 layers bidirectional", "LSTM", 3, 4, {**bi2, "projSize": 2}, (5, 2, 3), True),
        case("LSTM unbatched 2-D input", "LSTM", 3, 4, {}, (5, 3), True),
        case("LSTM zero initial states", "LSTM", 2, 3, {"numLayers": 2}, (5, 2, 2), False),
        case("LSTM dropout 0.5 between 2 layers, in eval", "LSTM", 3, 4, {"numLayers": 2, "dropout": 0.5}, (5, 2, 3),
             True, train=False),
        case("GRU 2 layers bidirectional, seq first", "GRU", 3, 4, bi2, (5, 2, 3), True),
        case("GRU 2 layers bidirectional, batchFirst", "GRU", 3, 4, {**bi2, "batchFirst": True}, (2, 6, 3), True),
        case("GRU no bias, unbatched, zero state", "GRU", 3, 4, {"bias": False, "numLayers": 2}, (5, 3), False),
        case("RNN tanh 2 layers bidirectional", "RNN", 3, 4, bi2, (5, 2, 3), True),
        case("RNN relu 2 layers bidirectional, batchFirst", "RNN", 3, 4,
             {**bi2, "batchFirst": True, "nonlinearity": "relu"}, (2, 5, 3), True),
        case("RNN tanh zero state", "RNN", 3, 4, {}, (5, 2, 3), False),
        case("RNNCell tanh", "RNNCell", 3, 4, {}, (3, 3), True),
        case("RNNCell relu", "RNNCell", 3, 4, {"nonlinearity": "relu"}, (3, 3), True),
        case("RNNCell unbatched zero state", "RNNCell", 3, 4, {}, (3,), False),
        case("LSTMCell", "LSTMCell", 3, 4, {}, (3, 3), True),
        case("LSTMCell unbatched", "LSTMCell", 3, 4, {}, (3,), True),
        case("LSTMCell zero state", "LSTMCell", 3, 4, {}, (2, 3), False),
        case("GRUCell", "GRUCell", 3, 4, {}, (3, 3), True),
        case("GRUCell unbatched, no bias", "GRUCell", 3, 4, {"bias": False}, (3,), True),
    ]
    write_fixture(FIXTURE, {"torch": torch.__version__, "cases": cases}, f"{len(cases)} cases")


if __name__ == "__main__":
    torch.set_default_dtype(torch.float64)
    main()
