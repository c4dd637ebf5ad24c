"""Writes test/fixtures/parity-norm-attention.json: float64 PyTorch results for the normalisation and attention
layers, which test/parity-norm-attention.test.ts checks adjoint's layers against (tests never need torch).

Each case is a layer with a random state dict (so no weight is a trivial 1 or 0) and a list of steps. Each step runs
the layer in train or eval mode on seeded inputs and records the outputs, the gradients of a random linear functional
of the outputs, sum(c_i * out_i), with respect to every float input and every parameter, and the buffers after the
step (BatchNorm's running statistics are updated in training). The harness is parity_common.py's make_case.

Run with /usr/bin/python3 (PyTorch 1.13): /usr/bin/python3 scripts/parity_norm_attention.py
"""

import math

import torch
import torch.nn as nn

from parity_common import bools, fixture_path, make_case, rand, write_fixture

FIXTURE = fixture_path("parity-norm-attention")

torch.set_default_dtype(torch.float64)


def one(module, xs):
    return (module(xs["x"]),)


def x_of(*shape):
    return lambda gen: {"x": rand(gen, *shape)}


def mha_call(**kw):
    """MultiheadAttention's forward on xs q, k, v (or x for self-attention) and masks kpm, mask."""

    def call(m, xs):
        q = xs.get("q", xs.get("x"))
        k = xs.get("k", q)
        v = xs.get("v", k)
        return m(q, k, v, key_padding_mask=xs.get("kpm"), attn_mask=xs.get("mask"), **kw)

    return call


def tel_call(m, xs):
    return (m(xs["x"], src_mask=xs.get("mask"), src_key_padding_mask=xs.get("kpm")),)


def main():
    cases = []
    add = cases.append

    # ----- BatchNorm ---------------------------------------------------------------------------------------------
    add(make_case("BatchNorm1d 2-D: train, train, eval", nn.BatchNorm1d(3),
                  [(True, x_of(5, 3), one), (True, x_of(5, 3), one), (False, x_of(4, 3), one)], 1))
    add(make_case("BatchNorm1d 3-D, momentum null (cumulative), no affine", nn.BatchNorm1d(4, momentum=None, affine=False),
                  [(True, x_of(3, 4, 5), one), (True, x_of(2, 4, 3), one), (False, x_of(2, 4, 3), one)], 2))
    add(make_case("BatchNorm2d momentum 0.3 eps 1e-3", nn.BatchNorm2d(3, momentum=0.3, eps=1e-3),
                  [(True, x_of(2, 3, 3, 4), one), (False, x_of(2, 3, 2, 2), one)], 3))
    add(make_case("BatchNorm2d without running statistics", nn.BatchNorm2d(2, track_running_stats=False),
                  [(True, x_of(2, 2, 3, 3), one), (False, x_of(3, 2, 2, 2), one)], 4))

    # ----- LayerNorm, GroupNorm ---------------------------------------------------------------------------------
    add(make_case("LayerNorm [4, 5]", nn.LayerNorm([4, 5]), [(True, x_of(2, 3, 4, 5), one)], 5))
    add(make_case("LayerNorm 6, no affine, eps 1e-3", nn.LayerNorm(6, eps=1e-3, elementwise_affine=False),
                  [(True, x_of(3, 6), one)], 6))
    add(make_case("GroupNorm 2 groups of 3, 2-D", nn.GroupNorm(2, 6), [(True, x_of(2, 6, 3, 3), one)], 7))
    add(make_case("GroupNorm 3 groups, no affine, 1-D", nn.GroupNorm(3, 6, affine=False, eps=1e-4),
                  [(True, x_of(2, 6, 4), one)], 8))

    # ----- MultiheadAttention -----------------------------------------------------------------------------------
    # No query row may be masked entirely (PyTorch gives nan there, as we do, but nan cannot be compared).
    def mha_masks(gen):
        return {"q": rand(gen, 3, 2, 8), "k": rand(gen, 4, 2, 8), "v": rand(gen, 4, 2, 8),
                "kpm": bools([[False, False, True, False], [False, True, False, True]]),
                "mask": bools([[False, True, False, False], [True, False, False, True], [False, False, False, True]])}
    add(make_case("MultiheadAttention: keyPaddingMask and attnMask (bool), averaged weights",
                  nn.MultiheadAttention(8, 2), [(True, mha_masks, mha_call())], 9))

    def mha_bf(gen):
        mask = rand(gen, 8, 3, 3)
        mask[:, 0, 1] = -math.inf
        return {"x": rand(gen, 2, 3, 8), "mask": mask, "kpm": bools([[False, False, True], [False, False, False]])}
    add(make_case("MultiheadAttention batchFirst self-attention: float 3-D attnMask, bool keyPaddingMask, per-head "
                  "weights", nn.MultiheadAttention(8, 4, batch_first=True),
                  [(True, mha_bf, mha_call(average_attn_weights=False))], 10))

    def mha_kv(gen):
        return {"q": rand(gen, 3, 2, 6), "k": rand(gen, 4, 2, 4), "v": rand(gen, 4, 2, 5)}
    add(make_case("MultiheadAttention kdim, vdim, no bias, needWeights false",
                  nn.MultiheadAttention(6, 2, kdim=4, vdim=5, bias=False),
                  [(True, mha_kv, mha_call(need_weights=False))], 11))

    def mha_unbatched(gen):
        mask = torch.zeros(2, 3, 5, dtype=torch.bool)
        mask[0, :, 4] = True
        mask[1, 2, 0] = True
        return {"q": rand(gen, 3, 4), "k": rand(gen, 5, 4), "v": rand(gen, 5, 4),
                "kpm": bools([False, True, False, False, False]), "mask": mask}
    add(make_case("MultiheadAttention unbatched: bool keyPaddingMask [S], bool 3-D attnMask [H, L, S]",
                  nn.MultiheadAttention(4, 2), [(True, mha_unbatched, mha_call())], 12))

    def mha_float_kpm(gen):
        return {"q": rand(gen, 2, 3, 4), "k": rand(gen, 3, 3, 4), "v": rand(gen, 3, 3, 4), "kpm": rand(gen, 3, 3)}
    add(make_case("MultiheadAttention float keyPaddingMask, eval", nn.MultiheadAttention(4, 1),
                  [(False, mha_float_kpm, mha_call())], 13))

    # ----- TransformerEncoderLayer (dropout 0: deterministic) ---------------------------------------------------
    def tel_post(gen):
        return {"x": rand(gen, 4, 2, 8), "mask": nn.Transformer.generate_square_subsequent_mask(4) < 0,
                "kpm": bools([[False, False, False, True], [False, False, False, False]])}
    add(make_case("TransformerEncoderLayer post-norm relu: causal bool srcMask, srcKeyPaddingMask",
                  nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0),
                  [(True, tel_post, tel_call)], 14))

    def tel_pre(gen):
        return {"x": rand(gen, 2, 3, 8), "mask": rand(gen, 3, 3, low=-1.0, high=1.0)}
    add(make_case("TransformerEncoderLayer pre-norm gelu batchFirst: float srcMask",
                  nn.TransformerEncoderLayer(8, 2, dim_feedforward=12, dropout=0.0, activation="gelu",
                                             layer_norm_eps=1e-6, batch_first=True, norm_first=True),
                  [(True, tel_pre, tel_call)], 15))

    def tel_causal(gen):
        return {"x": rand(gen, 2, 4, 8), "mask": nn.Transformer.generate_square_subsequent_mask(4)}
    add(make_case("TransformerEncoderLayer batchFirst causal (isCausal in adjoint, the float causal mask here)",
                  nn.TransformerEncoderLayer(8, 4, dim_feedforward=8, dropout=0.0, batch_first=True),
                  [(True, tel_causal, tel_call)], 16))

    write_fixture(FIXTURE, {"torch": torch.__version__, "cases": cases}, f"{len(cases)} cases")


if __name__ == "__main__":
    main()
