"""Writes test/fixtures/parity-conv.json: float64 PyTorch references for adjoint's convolution, pooling and resampling
layers (src/nn/conv.ts, src/nn/pool.ts).

Each case holds the module's repr, its state dict (keys in torch's order), the input, the output (and, for max pooling
with indices, the indices), and the gradients of a random linear functional sum(out * cot) with respect to the input
and every parameter. test/parity-conv.test.ts builds the same module (its table mirrors CASES below by name), checks
that its state-dict keys, shapes and repr are torch's, loads the state dict, and compares the output and gradients
within 1e-10 relative; tests never need torch.

Run with /usr/bin/python3 (PyTorch 1.13): /usr/bin/python3 scripts/parity_conv.py
"""

import torch
from torch import nn

from parity_common import enc, fixture_path, write_fixture

FIXTURE = fixture_path("parity-conv")


class SmallCNN(nn.Module):
    """Conv → ReLU → MaxPool → Conv (reflect, groups) → AvgPool → AdaptiveAvgPool → flatten: the layers together."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(4, 6, 3, padding=1, groups=2, padding_mode="reflect")
        self.pool2 = nn.AvgPool2d(2, ceil_mode=True)
        self.head = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        h = self.pool1(torch.relu(self.conv1(x)))
        h = self.pool2(torch.tanh(self.conv2(h)))
        return torch.flatten(self.head(h), 1)


# name -> (module factory, input shape, forward keyword arguments)
CASES = {
    "conv2d_together": (
        lambda: nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 2), dilation=(2, 1), groups=2), (2, 4, 9, 8), {}),
    "conv2d_same_even_kernel": (lambda: nn.Conv2d(3, 4, (2, 4), padding="same", dilation=(2, 1)), (2, 3, 6, 7), {}),
    "conv2d_valid_nobias": (lambda: nn.Conv2d(3, 2, 3, stride=2, padding="valid", bias=False), (2, 3, 7, 6), {}),
    "conv2d_reflect": (lambda: nn.Conv2d(3, 4, 3, padding=(1, 2), padding_mode="reflect"), (2, 3, 5, 6), {}),
    "conv2d_reflect_same": (
        lambda: nn.Conv2d(2, 4, (2, 3), padding="same", dilation=(1, 2), padding_mode="reflect", groups=2),
        (1, 2, 6, 7), {}),
    "conv2d_replicate": (lambda: nn.Conv2d(2, 3, 3, stride=2, padding=1, padding_mode="replicate"), (2, 2, 6, 5), {}),
    "conv2d_circular": (lambda: nn.Conv2d(2, 3, 3, padding=(2, 1), padding_mode="circular"), (2, 2, 5, 6), {}),
    "conv2d_depthwise_unbatched": (lambda: nn.Conv2d(3, 6, 3, stride=(1, 2), groups=3), (3, 6, 7), {}),
    "conv1d_together": (lambda: nn.Conv1d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2), (3, 4, 15), {}),
    "conv1d_reflect_same": (lambda: nn.Conv1d(2, 3, 4, padding="same", padding_mode="reflect"), (2, 2, 9), {}),
    "conv_transpose2d_together": (
        lambda: nn.ConvTranspose2d(4, 6, (3, 2), stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=2,
                                   dilation=(1, 2)),
        (2, 4, 4, 3), {}),
    "conv_transpose2d_output_size": (lambda: nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1), (1, 3, 4, 5),
                                     {"output_size": [8, 9]}),
    "conv_transpose2d_unbatched_nobias": (lambda: nn.ConvTranspose2d(2, 3, (2, 3), stride=2, bias=False), (2, 3, 4),
                                          {}),
    "conv_transpose1d": (
        lambda: nn.ConvTranspose1d(3, 4, 3, stride=3, padding=1, output_padding=2, dilation=2, bias=False),
        (2, 3, 6), {}),
    "conv_transpose1d_groups": (lambda: nn.ConvTranspose1d(4, 6, 4, stride=2, groups=2), (2, 4, 5), {}),
    "max_pool2d": (lambda: nn.MaxPool2d((3, 2), stride=(2, 1), padding=1, dilation=(1, 2), ceil_mode=True),
                   (2, 3, 7, 8), {}),
    "max_pool2d_indices": (lambda: nn.MaxPool2d(2, padding=1, return_indices=True), (2, 2, 5, 6), {}),
    "max_pool1d": (lambda: nn.MaxPool1d(3, stride=2, padding=1, ceil_mode=True), (2, 3, 10), {}),
    "max_pool1d_indices": (lambda: nn.MaxPool1d(2, dilation=2, return_indices=True), (3, 9), {}),
    "avg_pool2d": (lambda: nn.AvgPool2d((3, 2), stride=(2, 1), padding=1, ceil_mode=True, count_include_pad=False),
                   (2, 3, 7, 8), {}),
    "avg_pool2d_ceil_include_pad": (lambda: nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True), (2, 2, 6, 6), {}),
    "avg_pool2d_divisor": (lambda: nn.AvgPool2d(3, stride=2, padding=1, divisor_override=4), (2, 2, 7, 7), {}),
    "avg_pool1d": (lambda: nn.AvgPool1d(4, stride=3, padding=2, ceil_mode=True), (2, 3, 11), {}),
    "adaptive_avg_pool2d": (lambda: nn.AdaptiveAvgPool2d((3, 5)), (2, 3, 7, 9), {}),
    "adaptive_avg_pool2d_none": (lambda: nn.AdaptiveAvgPool2d((4, None)), (3, 9, 5), {}),
    "adaptive_avg_pool1d": (lambda: nn.AdaptiveAvgPool1d(4), (2, 3, 10), {}),
    "upsample_nearest": (lambda: nn.Upsample(scale_factor=2), (2, 3, 4, 5), {}),
    "upsample_nearest_size": (lambda: nn.Upsample(size=(7, 9)), (2, 2, 4, 5), {}),
    "upsample_nearest_exact": (lambda: nn.Upsample(size=(3, 8), mode="nearest-exact"), (1, 2, 5, 5), {}),
    "upsample_bilinear": (lambda: nn.Upsample(scale_factor=(1.5, 2.5), mode="bilinear"), (2, 2, 4, 5), {}),
    "upsample_bilinear_align_corners": (lambda: nn.Upsample(size=(7, 9), mode="bilinear", align_corners=True),
                                        (2, 2, 4, 5), {}),
    "upsample_bilinear_down": (lambda: nn.Upsample(size=(3, 4), mode="bilinear"), (1, 2, 7, 9), {}),
    "upsample_linear": (lambda: nn.Upsample(scale_factor=3, mode="linear"), (2, 3, 5), {}),
    "small_cnn": (lambda: SmallCNN(), (2, 1, 8, 8), {}),
}


def run(make_module, shape, kwargs):
    m = make_module().double()
    x = torch.randn(*shape).requires_grad_(True)
    res = m(x, **kwargs)
    out, indices = res if isinstance(res, tuple) else (res, None)
    cot = torch.randn(out.shape)
    params = list(m.named_parameters())
    wrt = [x] + [p for _, p in params]
    grads = torch.autograd.grad((out * cot).sum(), wrt)
    case = {
        "repr": repr(m),
        "state": [[k, enc(v)] for k, v in m.state_dict().items()],
        "forward": kwargs,
        "input": enc(x),
        "output": enc(out),
        "cotangent": enc(cot)["values"],
        "inputGrad": enc(grads[0])["values"],
        "paramGrads": [[k, enc(g)["values"]] for (k, _), g in zip(params, grads[1:])],
    }
    if indices is not None:
        case["indices"] = enc(indices)
    return case


def main():
    torch.manual_seed(0)
    torch.set_default_dtype(torch.float64)
    cases = {name: run(*spec) for name, spec in CASES.items()}
    write_fixture(FIXTURE, {"made_by": "scripts/parity_conv.py", "torch": torch.__version__, "cases": cases},
                  f"{len(cases)} cases")


if __name__ == "__main__":
    main()
