#!/usr/bin/env python3
"""PyTorch side of benches/finetune_step.sh: the time of one fine-tuning step on CPU of the
PyTorch models of benches/model_throughput_torch.py (same sizes as genovec's checkpoints).
Prints one JSON object like benches/finetune_step.rs.

    python benches/finetune_step_torch.py --model hyenadna --dir CHECKPOINT --tokens FILE
        [--name NAME] [--threads 1] [--steps 5] [--variant hyena_ref]

Inputs: the token ids and labels that `finetune_step --dump-tokens FILE` wrote (the same
batch genovec trains on), right-padded with the model's pad id and an attention mask.

Timed, per step, as genovec's step: build the id and mask tensors, forward to the last hidden
states, masked mean over real tokens, a linear head over two classes, cross-entropy,
backward, and AdamW (lr 3e-5, weight decay 0.01) over every parameter, float32. The models
run in eval mode (dropout off: genovec's fine-tune has no dropout) with gradients on. One
warm-up step, then `--steps` timed steps; `step_s` is their median. `--device cuda` runs it
on the GPU (`loss.item()` each step waits for it).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model_throughput_torch import build, pad, set_threads  # noqa: E402

DEFAULT_VARIANT = {"dnabert2": "bert_geglu", "nt": "esm_swiglu", "hyenadna": "hyena_ref"}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, choices=list(DEFAULT_VARIANT))
    p.add_argument("--dir", required=True)
    p.add_argument("--tokens", required=True)
    p.add_argument("--name")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--variant")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    args = p.parse_args()

    set_threads(args.threads)
    cfg = json.loads((Path(args.dir) / "config.json").read_text())
    dump = json.loads(Path(args.tokens).read_text())
    rows, labels, pad_id = dump["tokens"], dump["labels"], dump["pad_id"]
    variant = args.variant or DEFAULT_VARIANT[args.model]
    dev = torch.device(args.device)
    model = build(args.model, variant, cfg, args.dir).eval().to(dev)
    head = torch.nn.Linear(dump["hidden"], 2).to(dev)
    params = [q for q in model.parameters() if q.requires_grad] + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=3e-5, weight_decay=0.01)
    targets = torch.tensor(labels, device=dev)

    def step():
        ids, mask = (t.to(dev) for t in pad(rows, pad_id))
        hidden = model(input_ids=ids, attention_mask=mask)[0]
        m = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1)
        loss = F.cross_entropy(head(pooled), targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    first_loss = step()
    times, last_loss = [], first_loss
    for _ in range(max(args.steps, 1)):
        t = time.perf_counter()
        last_loss = step()
        times.append(time.perf_counter() - t)
    times.sort()
    print(json.dumps({
        "impl": "torch",
        "path": variant,
        "model": args.name or args.model,
        "threads": args.threads,
        "batch": len(rows),
        "bp": dump["bp"],
        "tokens_max": max(len(r) for r in rows),
        "trained_params": sum(q.numel() for q in model.parameters() if q.requires_grad),
        "steps": len(times),
        "step_s": times[len(times) // 2],
        "best_step_s": times[0],
        "steps_per_s": 1.0 / times[len(times) // 2],
        "first_loss": first_loss,
        "last_loss": last_loss,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "device": str(dev),
    }), flush=True)


if __name__ == "__main__":
    main()
