#!/usr/bin/env python3
"""PyTorch side of benches/model_throughput.sh: embedding throughput on CPU of PyTorch models
of the same sizes as genovec's real-size random checkpoints. Prints JSON Lines like
benches/model_throughput.rs.

    python benches/model_throughput_torch.py --model dnabert2 --dir CHECKPOINT --tokens FILE
        [--name NAME] [--threads 1] [--batches 1,32] [--min-secs 3] [--min-calls 2]
        [--variants a,b]

Inputs: the token ids genovec's tokenizer gives for the same 32 random 500 bp sequences
(`model_throughput --dump-tokens FILE`), right-padded per batch with the model's pad id and an
attention mask, exactly as genovec pads them. Timed per call: building the id and mask tensors,
the forward pass to the last hidden states, and the masked mean over real tokens (genovec's
pooling), under torch.inference_mode(), float32. Token ids are taken as given (genovec's
tokenizer time is inside its timing, a few tens of microseconds per sequence, not here).

Models (sizes from the checkpoint's config.json, random init; speed does not depend on the
weight values):

* dnabert2 (DNABERT-2-117M: 768 hidden, 12 layers, 12 heads, intermediate 3072, vocab 4096):
  - `bert_geglu`: transformers' BertModel (no pooler) whose FFN is replaced by DNABERT-2's
    GEGLU: `gated_layers` [2*3072, 768] without bias, exact GELU on the first half, times the
    second, then `wo` [768, 3072]. Same matmul shapes as DNABERT-2. Learned absolute
    positions instead of ALiBi (one add of [T, d] instead of one add of [H, T, T] to the
    scores: negligible either way).
  - `bert_native`: plain BertModel, GELU FFN 768 -> 3072 -> 768 (2/3 of DNABERT-2's FFN
    multiply-adds).
* nt (NT-v2-50M: 512 hidden, 12 layers, 16 heads, intermediate 2048, rotary, pre-LN, vocab 4107):
  - `esm_swiglu`: transformers' EsmModel (rotary, emb_layer_norm_after, no token dropout) whose
    FFN is replaced by NT-v2's packed SwiGLU without biases: [2*2048, 512], SiLU on the first
    half, then [512, 2048]. That is NT-v2's architecture exactly.
  - `esm_native`: plain EsmModel, GELU FFN 512 -> 2048 -> 512 with biases (NT-v1 style;
    2/3 of NT-v2's FFN multiply-adds).
* hyenadna: `hyena_ref`, this project's own PyTorch HyenaDNA, written after the `-hf`
  modeling_hyena.py forward (implicit filter MLP evaluated for length T on every call, as the
  reference does; long convolution by rfft/irfft of size 2T; depthwise short conv by Conv1d).
  It loads the checkpoint's weights, so its output can be checked against genovec's
  (`--check`, using the pooled vectors the token dump holds).
"""

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------------------------------------
# DNABERT-2 stand-ins


class Geglu(nn.Module):
    """DNABERT-2's `mlp.gated_layers` + GEGLU, in place of BertIntermediate."""

    def __init__(self, d, inner):
        super().__init__()
        self.inner = inner
        self.dense = nn.Linear(d, 2 * inner, bias=False)

    def forward(self, x):
        g = self.dense(x)
        return F.gelu(g[..., : self.inner]) * g[..., self.inner :]


def build_bert(cfg, variant):
    from transformers import BertConfig, BertModel

    bc = BertConfig(
        vocab_size=cfg["vocab_size"],
        hidden_size=cfg["hidden_size"],
        num_hidden_layers=cfg["num_hidden_layers"],
        num_attention_heads=cfg["num_attention_heads"],
        intermediate_size=cfg["intermediate_size"],
        hidden_act="gelu",
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        max_position_embeddings=cfg["max_position_embeddings"],
        type_vocab_size=cfg["type_vocab_size"],
        layer_norm_eps=cfg["layer_norm_eps"],
        pad_token_id=3,
    )
    model = BertModel(bc, add_pooling_layer=False)
    if variant == "bert_geglu":
        for layer in model.encoder.layer:
            layer.intermediate = Geglu(cfg["hidden_size"], cfg["intermediate_size"])
    return model


# ---------------------------------------------------------------------------------------------
# NT-v2 stand-ins


class Swiglu(nn.Module):
    """NT-v2's packed SwiGLU (`intermediate.dense` [2I, d], no bias), in place of EsmIntermediate."""

    def __init__(self, d, inner):
        super().__init__()
        self.inner = inner
        self.dense = nn.Linear(d, 2 * inner, bias=False)

    def forward(self, x):
        u = self.dense(x)
        return F.silu(u[..., : self.inner]) * u[..., self.inner :]


def build_esm(cfg, variant):
    from transformers import EsmConfig, EsmModel

    ec = EsmConfig(
        vocab_size=cfg["vocab_size"],
        hidden_size=cfg["hidden_size"],
        num_hidden_layers=cfg["num_hidden_layers"],
        num_attention_heads=cfg["num_attention_heads"],
        intermediate_size=cfg["intermediate_size"],
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        max_position_embeddings=cfg["max_position_embeddings"],
        layer_norm_eps=cfg["layer_norm_eps"],
        position_embedding_type="rotary",
        emb_layer_norm_before=False,
        token_dropout=False,
        pad_token_id=cfg["pad_token_id"],
        mask_token_id=cfg["mask_token_id"],
    )
    model = EsmModel(ec, add_pooling_layer=False)
    if variant == "esm_swiglu":
        d, inner = cfg["hidden_size"], cfg["intermediate_size"]
        for layer in model.encoder.layer:
            layer.intermediate = Swiglu(d, inner)
            layer.output.dense = nn.Linear(inner, d, bias=False)
    return model


# ---------------------------------------------------------------------------------------------
# HyenaDNA (this project's own PyTorch version of the -hf modeling_hyena.py forward)


class HyenaSin(nn.Module):
    def __init__(self, order):
        super().__init__()
        self.freq = nn.Parameter(torch.ones(1, order))

    def forward(self, x):
        return torch.sin(self.freq * x)


class HyenaFilter(nn.Module):
    def __init__(self, d, order, emb_dim, max_len, inner_mlps):
        super().__init__()
        self.pos_emb = nn.Module()
        self.pos_emb.register_buffer("z", torch.zeros(1, max_len, emb_dim))
        self.pos_emb.register_buffer("t", torch.zeros(1, max_len, 1))
        act = HyenaSin(order)  # one module, shared by every sine layer, as in the reference
        layers = [nn.Linear(emb_dim, order), act]
        for _ in range(inner_mlps):
            layers += [nn.Linear(order, order), act]
        layers.append(nn.Linear(order, d, bias=False))
        self.implicit_filter = nn.Sequential(*layers)
        self.modulation = nn.Module()
        self.modulation.register_buffer("deltas", torch.zeros(1, 1, d))
        self.bias = nn.Parameter(torch.zeros(d))

    def filter(self, length):
        z, t = self.pos_emb.z[:, :length], self.pos_emb.t[:, :length]
        h = self.implicit_filter(z)
        return h * (torch.exp(-t * self.modulation.deltas.abs()) + 0.05)  # [1, L, d]


def fftconv(u, k, skip):
    """Causal long convolution of u [B, d, L] with k [d, L], plus the skip term."""
    length = u.shape[-1]
    n = 2 * length
    k_f = torch.fft.rfft(k, n=n) / n
    u_f = torch.fft.rfft(u, n=n)
    y = torch.fft.irfft(u_f * k_f, n=n, norm="forward")[..., :length]
    return y + u * skip.unsqueeze(-1)


class HyenaOperator(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["d_model"]
        self.d = d
        self.in_proj = nn.Linear(d, 3 * d)
        self.short_filter = nn.Conv1d(3 * d, 3 * d, 3, padding=2, groups=3 * d)
        self.filter_fn = HyenaFilter(d, cfg["filter_order"], cfg["emb_dim"], cfg["max_seq_len"],
                                     cfg["num_inner_mlps"])
        self.out_proj = nn.Linear(d, d)

    def forward(self, u):
        length = u.shape[1]
        u = self.in_proj(u).transpose(1, 2)
        uc = self.short_filter(u)[..., :length]
        x0, x1, v = uc.split(self.d, dim=1)
        k = self.filter_fn.filter(length)[0].transpose(0, 1)
        v = fftconv(v * x1, k, self.filter_fn.bias)
        return self.out_proj((v * x0).transpose(1, 2))


class HyenaMlp(nn.Module):
    def __init__(self, d, inner):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(d, inner), nn.Linear(inner, d)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


class HyenaBlock(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["d_model"]
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.mixer = HyenaOperator(cfg)
        self.mlp = HyenaMlp(d, cfg.get("d_inner") or 4 * d)

    def forward(self, x):
        x = self.mixer(self.norm1(x)) + x
        return self.mlp(self.norm2(x)) + x


class HyenaBackbone(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        m = cfg["pad_vocab_size_multiple"]
        vocab = (cfg["vocab_size"] + m - 1) // m * m
        self.embeddings = nn.Module()
        self.embeddings.word_embeddings = nn.Embedding(vocab, cfg["d_model"])
        self.layers = nn.ModuleList(HyenaBlock(cfg) for _ in range(cfg["n_layer"]))
        self.ln_f = nn.LayerNorm(cfg["d_model"], eps=cfg["layer_norm_epsilon"])

    def forward(self, input_ids, attention_mask=None):  # causal: the mask is not used
        x = self.embeddings.word_embeddings(input_ids)
        for layer in self.layers:
            x = layer(x)
        return (self.ln_f(x),)


def build_hyena(cfg, ckpt_dir):
    from safetensors.torch import load_file

    model = HyenaBackbone(cfg)
    state = load_file(str(Path(ckpt_dir) / "model.safetensors"))
    prefix = next(p for p in ("hyena.backbone.", "backbone.") if any(k.startswith(p) for k in state))
    state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    missing, unexpected = model.load_state_dict(state, strict=False)
    # The sine layers share one freq: only implicit_filter.1.freq is stored.
    missing = [k for k in missing if not k.endswith((".3.freq", ".5.freq"))]
    if missing or unexpected:
        sys.exit(f"hyena weights: missing {missing}, unexpected {unexpected}")
    return model


VARIANTS = {"dnabert2": ["bert_geglu", "bert_native"], "nt": ["esm_swiglu", "esm_native"],
            "hyenadna": ["hyena_ref"]}


def build(family, variant, cfg, ckpt_dir):
    if family == "dnabert2":
        return build_bert(cfg, variant)
    if family == "nt":
        return build_esm(cfg, variant)
    return build_hyena(cfg, ckpt_dir)


# ---------------------------------------------------------------------------------------------


def set_threads(threads):
    """`threads` intra-op threads, one inter-op thread, and a fixed seed."""
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(0)


def pad(rows, pad_id):
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
        mask[i, : len(r)] = 1
    return ids, mask


def embed(model, rows, pad_id):
    ids, mask = pad(rows, pad_id)
    hidden = model(input_ids=ids, attention_mask=mask)[0]
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, choices=list(VARIANTS))
    p.add_argument("--dir", required=True)
    p.add_argument("--tokens", required=True)
    p.add_argument("--name")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batches", default="1,32")
    p.add_argument("--min-secs", type=float, default=3.0)
    p.add_argument("--min-calls", type=int, default=2)
    p.add_argument("--variants")
    p.add_argument("--check", action="store_true",
                   help="hyenadna: compare pooled vectors with genovec's (from the token dump)")
    args = p.parse_args()

    set_threads(args.threads)
    cfg = json.loads((Path(args.dir) / "config.json").read_text())
    dump = json.loads(Path(args.tokens).read_text())
    rows, pad_id = dump["tokens"], dump["pad_id"]
    lens = [len(r) for r in rows]
    variants = args.variants.split(",") if args.variants else VARIANTS[args.model]
    name = args.name or args.model

    for variant in variants:
        t0 = time.perf_counter()
        model = build(args.model, variant, cfg, args.dir).eval()
        load_s = time.perf_counter() - t0
        attn = getattr(getattr(model, "config", None), "_attn_implementation", None)
        if args.check and "pooled" in dump:
            with torch.inference_mode():
                ours = embed(model, rows[: len(dump["pooled"])], pad_id)
            diff = (ours - torch.tensor(dump["pooled"])).abs().max().item()
            print(f"{name} {variant}: max |torch - genovec| pooled = {diff:.2e}", file=sys.stderr)
            if diff > 1e-3:
                sys.exit(f"{name} {variant}: torch and genovec disagree ({diff:.2e})")
        for batch in [int(b) for b in args.batches.split(",")]:
            chunks = [rows[i : i + batch] for i in range(0, len(rows) - batch + 1, batch)]
            padded = [max(len(r) for r in c) for c in chunks]
            with torch.inference_mode():
                out = embed(model, chunks[0], pad_id)  # warm-up
                assert out.shape == (batch, dump["hidden"]) and torch.isfinite(out).all()
                times, i = [], 0
                wall0, cpu0 = time.perf_counter(), time.process_time()
                while len(times) < args.min_calls or time.perf_counter() - wall0 < args.min_secs:
                    t = time.perf_counter()
                    embed(model, chunks[i % len(chunks)], pad_id)
                    times.append(time.perf_counter() - t)
                    i += 1
                wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            print(json.dumps({
                "impl": "torch",
                "path": variant,
                "model": name,
                "batch": batch,
                "threads": args.threads,
                "bp": dump["bp"],
                "tokens_mean": sum(lens) / len(lens),
                "padded_tokens_mean": sum(padded) / len(padded),
                "calls": len(times),
                "secs": wall,
                "seq_per_s": len(times) * batch / wall,
                "best_seq_per_s": batch / min(times),
                "cpu_per_wall": cpu / wall,
                "load_s": load_s,
                "torch": torch.__version__,
                "attn": attn,
                "torch_threads": torch.get_num_threads(),
            }), flush=True)


if __name__ == "__main__":
    main()
