#!/usr/bin/env python3
"""Real-size checkpoints with random weights, for throughput benchmarks only.

Each checkpoint is built from one of the tiny parity fixtures in shared/fixtures/models/: its
config.json with the sizes changed to those of the real model, random F32 tensors of the real
shapes under the fixture's tensor names (layer 0's names repeated for every layer), and the
fixture's tokenizer files copied as they are.

    python benches/make_random_checkpoints.py [--fixtures DIR] [--out bench-out/checkpoints]

Writes <out>/{dnabert2_117m, nt_v2_50m, hyenadna_tiny_1k, hyenadna_small_32k}/. A folder whose
config.json already matches is left alone. Needs numpy and safetensors (the torch venv of
benches/torch_setup.sh has both).

The weights are random (speed does not depend on their values), drawn with the scales the
fixtures use so that activations stay O(1) through every layer: LayerNorm weight 1+0.1·N, bias
0.1·N, embeddings N(0,1), Linear [out, in] N/sqrt(in), other biases 0.1·N. HyenaDNA's
positional grid (pos_emb.z, pos_emb.t) and modulation deltas are the values the reference
constructor computes for the new sizes, and inv_freq is NT's standard rotary buffer.
"""

import argparse
import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

# name -> (fixture folder, config changes, layer key, layer-count key)
MODELS = {
    # zhihan1996/DNABERT-2-117M
    "dnabert2_117m": (
        "dnabert2_tiny",
        {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
         "intermediate_size": 3072},
        "num_hidden_layers",
    ),
    # InstaDeepAI/nucleotide-transformer-v2-50m-multi-species (its pinned config.json: 12 layers,
    # hidden 512, 16 heads, intermediate 2048, 55.9 M parameters)
    "nt_v2_50m": (
        "nt_v2_tiny",
        {"hidden_size": 512, "num_hidden_layers": 12, "num_attention_heads": 16,
         "intermediate_size": 2048},
        "num_hidden_layers",
    ),
    # LongSafari/hyenadna-tiny-1k-seqlen(-hf)
    "hyenadna_tiny_1k": (
        "hyenadna_tiny",
        {"d_model": 128, "n_layer": 2, "d_inner": 512, "filter_order": 64, "max_seq_len": 1026},
        "n_layer",
    ),
    # LongSafari/hyenadna-small-32k-seqlen(-hf)
    "hyenadna_small_32k": (
        "hyenadna_tiny",
        {"d_model": 256, "n_layer": 4, "d_inner": 1024, "filter_order": 64, "max_seq_len": 32770},
        "n_layer",
    ),
}

TOKENIZER_FILES = ["tokenizer.json", "vocab.txt", "vocab.json", "tokenizer_config.json",
                   "special_tokens_map.json"]


def size_map(old, new, family):
    """Maps each size of the tiny config to the real one, by value (the tiny sizes are distinct)."""
    m = {}
    if family == "hyenadna":
        d0, d1 = old["d_model"], new["d_model"]
        m[d0] = d1
        m[3 * d0] = 3 * d1
        m[old["d_inner"]] = new["d_inner"]
        m[old["filter_order"]] = new["filter_order"]
        m[old["max_seq_len"]] = new["max_seq_len"]
    else:
        d0, d1 = old["hidden_size"], new["hidden_size"]
        i0, i1 = old["intermediate_size"], new["intermediate_size"]
        m[d0] = d1
        m[3 * d0] = 3 * d1
        m[i0] = i1
        m[2 * i0] = 2 * i1
    assert len(m) == len(set(m)), m
    return m


def hyena_pos_emb(emb_dim, seq_len):
    """PositionalEmbedding of the reference: z = [t, cos bands, -sin bands], t on [0, 1]."""
    t = np.linspace(0, 1, seq_len, dtype=np.float32)[None, :, None]
    bands = (emb_dim - 1) // 2
    t_rescaled = np.linspace(0, seq_len - 1, seq_len, dtype=np.float32)[None, :, None]
    w = 2 * math.pi * t_rescaled / seq_len
    f = np.linspace(1e-4, bands - 1, bands, dtype=np.float32)[None, None]
    z = np.exp(-1j * f * w)
    z = np.concatenate([t, z.real, z.imag], axis=-1).astype(np.float32)
    return z, t


def hyena_deltas(d_model, fast=0.3, slow=1.5, target=1e-2):
    max_decay, min_decay = math.log(target) / fast, math.log(target) / slow
    return np.linspace(min_decay, max_decay, d_model, dtype=np.float32)[None, None]


def random_tensor(rng, name, shape):
    n = rng.standard_normal(shape, dtype=np.float32)
    if re.search(r"(LayerNorm|layernorm|layer_norm|norm1|norm2|ln_f|emb_layer_norm_after)\.weight$",
                 name):
        return 1 + 0.1 * n
    if name.endswith("filter_fn.bias"):
        return n
    if name.endswith(".freq"):
        return 10 + 0.1 * n
    if name.endswith("bias"):
        return 0.1 * n
    if "embeddings" in name and name.endswith("weight"):
        return n
    if name.endswith("short_filter.weight"):
        return n / np.sqrt(shape[-1])
    if len(shape) == 2:
        scale = 1 / np.sqrt(shape[1])
        if re.search(r"implicit_filter\.[024]\.weight$", name):
            scale *= 0.3
        elif name.endswith("implicit_filter.6.weight"):
            scale *= 0.1
        return n * scale
    return 0.1 * n


def build(name, fixtures, out_root, seed):
    fixture, changes, layers_key = MODELS[name]
    src = fixtures / fixture
    old_cfg = json.loads((src / "config.json").read_text())
    new_cfg = dict(old_cfg)
    new_cfg.update(changes)
    out = out_root / name
    if (out / "config.json").is_file() and (out / "model.safetensors").is_file():
        if json.loads((out / "config.json").read_text()) == new_cfg:
            print(f"{name}: up to date in {out}")
            return out
    family = "hyenadna" if "d_model" in old_cfg else "bert"
    sizes = size_map(old_cfg, new_cfg, family)
    n_old, n_new = old_cfg[layers_key], new_cfg[layers_key]

    with safe_open(src / "model.safetensors", "np") as f:
        shapes = {k: f.get_slice(k).get_shape() for k in f.keys()}
        metadata = f.metadata()

    layer_re = re.compile(r"^(.*\.layers?\.)(\d+)(\..*)$")
    names = []
    for k in shapes:
        m = layer_re.match(k)
        if m is None:
            names.append((k, k))
        elif int(m.group(2)) == 0:
            names += [(f"{m.group(1)}{i}{m.group(3)}", k) for i in range(n_new)]
        else:
            assert int(m.group(2)) < n_old

    rng = np.random.default_rng(seed)
    tensors = {}
    for new_name, old_name in names:
        shape = [sizes.get(s, s) for s in shapes[old_name]]
        if old_name.endswith("rotary_embeddings.inv_freq"):
            head_dim = new_cfg["hidden_size"] // new_cfg["num_attention_heads"]
            t = 1.0 / (10000 ** (np.arange(0, head_dim, 2, dtype=np.float32) / head_dim))
        elif old_name.endswith("contact_head.regression.weight"):
            t = 0.1 * rng.standard_normal(
                (1, n_new * new_cfg["num_attention_heads"]), dtype=np.float32)
        elif old_name.endswith("pos_emb.z"):
            t, _ = hyena_pos_emb(new_cfg["emb_dim"], new_cfg["max_seq_len"])
        elif old_name.endswith("pos_emb.t"):
            _, t = hyena_pos_emb(new_cfg["emb_dim"], new_cfg["max_seq_len"])
        elif old_name.endswith("modulation.deltas"):
            t = hyena_deltas(new_cfg["d_model"])
        else:
            t = random_tensor(rng, new_name, tuple(shape))
        tensors[new_name] = np.ascontiguousarray(t, dtype=np.float32)

    out.mkdir(parents=True, exist_ok=True)
    save_file(tensors, out / "model.safetensors", metadata=metadata)
    (out / "config.json").write_text(json.dumps(new_cfg, indent=2) + "\n")
    for fname in TOKENIZER_FILES:
        if (src / fname).is_file():
            (out / fname).unlink(missing_ok=True)  # the fixture files are read-only
            shutil.copyfile(src / fname, out / fname)
    params = sum(t.size for t in tensors.values())
    print(f"{name}: {len(tensors)} tensors, {params / 1e6:.1f} M values -> {out}")
    return out


def main():
    here = Path(__file__).resolve().parent
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--fixtures", type=Path, default=here.parent.parent / "shared/fixtures/models")
    p.add_argument("--out", type=Path, default=here.parent / "bench-out/checkpoints")
    p.add_argument("--seed", type=int, default=20250101)
    p.add_argument("models", nargs="*", default=list(MODELS))
    args = p.parse_args()
    for i, name in enumerate(args.models):
        build(name, args.fixtures, args.out, args.seed + i)


if __name__ == "__main__":
    main()
