"""Writes test/fixtures/parity-transformer.json: float64 PyTorch results for TransformerDecoderLayer, the
TransformerEncoder / TransformerDecoder stacks and Transformer, which test/parity-transformer.test.ts checks
adjoint's modules against (tests never need torch).

The format and the harness are parity_common.py's, as for parity_norm_attention.py: each case is a module with a
random state dict and steps that record the outputs, the gradients of a random linear functional of them with
respect to every float input (float masks included) and every parameter. Dropout is 0, so training steps are
deterministic. No query row is masked entirely (PyTorch gives nan there, as adjoint does, but nan cannot be
compared).

Run with /usr/bin/python3 (PyTorch 1.13): /usr/bin/python3 scripts/parity_transformer.py, then
`npm run format` (the committed fixtures are biome-formatted).
"""

import math

import torch
import torch.nn as nn

from parity_common import bools, fixture_path, make_case, rand, write_fixture

FIXTURE = fixture_path("parity-transformer")

causal_bool = lambda n: nn.Transformer.generate_square_subsequent_mask(n) < 0  # noqa: E731
causal_float = nn.Transformer.generate_square_subsequent_mask


def decoder_layer_call(m, xs):
    return (m(xs["tgt"], xs["memory"], tgt_mask=xs.get("tgtMask"), memory_mask=xs.get("memoryMask"),
              tgt_key_padding_mask=xs.get("tgtKpm"), memory_key_padding_mask=xs.get("memoryKpm")),)


def encoder_call(m, xs):
    return (m(xs["src"], mask=xs.get("mask"), src_key_padding_mask=xs.get("srcKpm")),)


def transformer_call(m, xs):
    return (m(xs["src"], xs["tgt"], src_mask=xs.get("srcMask"), tgt_mask=xs.get("tgtMask"),
              memory_mask=xs.get("memoryMask"), src_key_padding_mask=xs.get("srcKpm"),
              tgt_key_padding_mask=xs.get("tgtKpm"), memory_key_padding_mask=xs.get("memoryKpm")),)


def main():
    torch.set_default_dtype(torch.float64)
    cases = []
    add = cases.append

    # ----- TransformerDecoderLayer -------------------------------------------------------------------------------
    def dl_post(gen):
        mem_mask = rand(gen, 4, 5, low=-1.0, high=1.0)
        mem_mask[1, 2] = -math.inf
        return {"tgt": rand(gen, 4, 2, 6), "memory": rand(gen, 5, 2, 6), "tgtMask": causal_bool(4),
                "memoryMask": mem_mask, "tgtKpm": bools([[False, False, True, False], [False, False, False, True]]),
                "memoryKpm": bools([[False, True, False, False, False], [False, False, False, False, True]])}
    add(make_case("TransformerDecoderLayer post-norm relu: bool causal tgtMask, float memoryMask, both padding masks",
                  nn.TransformerDecoderLayer(6, 2, dim_feedforward=8, dropout=0.0),
                  [(True, dl_post, decoder_layer_call)], 21))

    def dl_pre(gen):
        return {"tgt": rand(gen, 2, 3, 4), "memory": rand(gen, 2, 4, 4), "tgtMask": causal_float(3),
                "memoryKpm": bools([[False, False, True, True], [False, False, False, False]])}
    add(make_case("TransformerDecoderLayer pre-norm gelu batchFirst eps 1e-6: float causal tgtMask, memory padding",
                  nn.TransformerDecoderLayer(4, 2, dim_feedforward=6, dropout=0.0, activation="gelu",
                                             layer_norm_eps=1e-6, batch_first=True, norm_first=True),
                  [(True, dl_pre, decoder_layer_call)], 22))

    def dl_unbatched(gen):
        mask = torch.zeros(2, 3, 3, dtype=torch.bool)
        mask[0, 0, 2] = True
        mask[1, 2, 1] = True
        return {"tgt": rand(gen, 3, 4), "memory": rand(gen, 4, 4), "tgtMask": mask,
                "memoryKpm": bools([False, False, True, False])}
    add(make_case("TransformerDecoderLayer unbatched, tanh activation function: 3-D bool tgtMask [nhead, T, T]",
                  nn.TransformerDecoderLayer(4, 2, dim_feedforward=5, dropout=0.0, activation=torch.tanh),
                  [(True, dl_unbatched, decoder_layer_call)], 23))

    # ----- TransformerEncoder, TransformerDecoder ----------------------------------------------------------------
    def enc_post(gen):
        return {"src": rand(gen, 4, 2, 4), "mask": causal_bool(4),
                "srcKpm": bools([[False, False, False, True], [False, True, False, False]])}
    add(make_case("TransformerEncoder 2 layers post-norm with a final norm: bool mask, srcKeyPaddingMask",
                  nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0), 2,
                                        norm=nn.LayerNorm(4)),
                  [(True, enc_post, encoder_call), (False, enc_post, encoder_call)], 24))

    def enc_pre(gen):
        return {"src": rand(gen, 2, 3, 4), "mask": rand(gen, 3, 3, low=-1.0, high=1.0)}
    add(make_case("TransformerEncoder 3 layers pre-norm gelu batchFirst, no norm: float mask",
                  nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2, dim_feedforward=5, dropout=0.0,
                                                                   activation="gelu", batch_first=True,
                                                                   norm_first=True), 3),
                  [(True, enc_pre, encoder_call)], 25))

    def dec(gen):
        return {"tgt": rand(gen, 3, 2, 4), "memory": rand(gen, 4, 2, 4), "tgtMask": causal_float(3),
                "memoryMask": bools([[False, True, False, False], [False, False, False, False],
                                     [True, False, False, False]]),
                "tgtKpm": bools([[False, False, True], [False, False, False]]),
                "memoryKpm": bools([[False, False, False, True], [False, False, False, False]])}
    add(make_case("TransformerDecoder 2 layers with a final norm: all four masks",
                  nn.TransformerDecoder(nn.TransformerDecoderLayer(4, 2, dim_feedforward=6, dropout=0.0), 2,
                                        norm=nn.LayerNorm(4)),
                  [(True, dec, decoder_layer_call)], 26))

    # ----- Transformer -------------------------------------------------------------------------------------------
    def tr_post(gen):
        return {"src": rand(gen, 5, 2, 4), "tgt": rand(gen, 3, 2, 4), "srcMask": causal_bool(5),
                "tgtMask": causal_float(3), "memoryMask": rand(gen, 3, 5, low=-1.0, high=1.0),
                "srcKpm": bools([[False, False, False, False, True], [False, False, True, False, False]]),
                "tgtKpm": bools([[False, False, False], [False, True, False]]),
                "memoryKpm": bools([[False, False, False, False, True], [False, False, True, False, False]])}
    add(make_case("Transformer 2+2 layers post-norm: every mask and padding mask",
                  nn.Transformer(4, 2, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=6, dropout=0.0),
                  [(True, tr_post, transformer_call)], 27))

    def tr_pre(gen):
        return {"src": rand(gen, 2, 4, 4), "tgt": rand(gen, 2, 3, 4), "tgtMask": causal_bool(3),
                "srcKpm": bools([[False, False, True, True], [False, False, False, False]]),
                "memoryKpm": bools([[False, False, True, True], [False, False, False, False]])}
    add(make_case("Transformer 1+1 layers pre-norm gelu batchFirst eps 1e-6: causal tgtMask, padding; train and eval",
                  nn.Transformer(4, 2, 1, 1, 5, 0.0, "gelu", layer_norm_eps=1e-6, batch_first=True,
                                 norm_first=True),
                  [(True, tr_pre, transformer_call), (False, tr_pre, transformer_call)], 28))

    def tr_unbatched(gen):
        return {"src": rand(gen, 4, 4), "tgt": rand(gen, 2, 4), "tgtMask": causal_float(2),
                "srcKpm": bools([False, True, False, False])}
    add(make_case("Transformer unbatched 1+2 layers: float causal tgtMask, srcKeyPaddingMask [S]",
                  nn.Transformer(4, 2, num_encoder_layers=1, num_decoder_layers=2, dim_feedforward=3, dropout=0.0),
                  [(True, tr_unbatched, transformer_call)], 29))

    write_fixture(FIXTURE, {"torch": torch.__version__, "cases": cases}, f"{len(cases)} cases")


if __name__ == "__main__":
    main()
