"""Benchmark: the AdamW update on the CPU, torch's default per-tensor loop vs the fused kernel (the default).

    python scripts/bench_optimizer_step.py [--repeats 5] [--out benchmarks/results/optimizer_step.json]
    python scripts/bench_optimizer_step.py --repeats 1 --steps 1 --backbone tiny   # smoke

On a CPU, `torch.optim.AdamW()` updates its ~100 MiniLM tensors one after another (torch picks its
multi-tensor and fused kernels by default only on GPUs); `fused=True` (conf/strategy/_base_/transfer.yaml)
does the same arithmetic in one kernel. Cases, in interleaved repeats: the update alone (gradient-norm
clipping at 1.0 + AdamW step, the project's decay groups) per kernel, and whole bf16 training steps
(forward and loss under autocast, backward, clipping, AdamW) on real Amazon books reviews, batch 16 × 128
(the CPU benchmark's length). lr 0 keeps the weights fixed, so every case sees the same model.
Target: the whole bf16 step ≥ 1.05× faster with the fused update than with the loop.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from nlp_transfer.benchmarking import report_ratios
from nlp_transfer.models.backbone import tokenizer_from_package
from nlp_transfer.strategies.optimization import decay_groups

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_precision_eval import (  # noqa: E402
    TOKENIZER,
    autocast,
    datamodule,
    encoder_of,
    fixed_shape_batches,
    interleaved,
    step_parser,
)

TARGET = 1.05  # whole bf16 training step, fused AdamW / per-tensor loop
KERNELS = {"loop": {"foreach": False}, "foreach": {"foreach": True}, "fused": {"fused": True}}


def update(model: torch.nn.Module, kernel: str) -> Callable[[], None]:
    """One clipped update of an AdamW over `model` with the given kernel, on the gradients `model` holds."""
    optimizer = torch.optim.AdamW(decay_groups(model.named_parameters(), 0.01), lr=0.0, **KERNELS[kernel])
    params = [p for p in model.parameters() if p.requires_grad]

    def step() -> None:
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()

    return step


def update_on(model: torch.nn.Module, kernel: str) -> Callable[[], None]:
    """`update` on fixed random gradients, put back before each call (the training cases clear them)."""
    grads = [(p, torch.randn_like(p) * 1e-3) for p in model.parameters()]
    step = update(model, kernel)

    def run() -> None:
        for param, grad in grads:
            param.grad = grad
        step()

    return run


def train_steps(model: torch.nn.ModuleDict, batches: list[dict], kernel: str) -> Callable:
    """bf16 training steps of encoder + head over `batches`, updating both with the given AdamW kernel."""
    step = update(model, kernel)
    encoder, head = model["encoder"], model["head"]

    def run() -> None:
        model.train()
        for batch in batches:
            with autocast(True):
                out = encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
                loss = torch.nn.functional.cross_entropy(head(out.last_hidden_state[:, 0]), batch["labels"])
            loss.backward()
            step()
            model.zero_grad(set_to_none=True)

    return run


def cases_for(encoder: Any, head: torch.nn.Module, batches: list[dict]) -> dict[str, Callable[[], Any]]:
    """Every case updates the same parameters: the encoder's and the head's."""
    model = torch.nn.ModuleDict({"encoder": encoder, "head": head})
    cases: dict[str, Callable[[], Any]] = {f"update {kernel}": update_on(model, kernel) for kernel in KERNELS}
    for kernel in ("loop", "fused"):
        cases[f"train bf16 {kernel}"] = train_steps(model, batches, kernel)
    return cases


def main() -> None:
    args = step_parser(__doc__, "optimizer_step.json").parse_args()
    torch.manual_seed(0)
    tokenizer = tokenizer_from_package(TOKENIZER)
    encoder = encoder_of(args.backbone)
    head = torch.nn.Linear(encoder.config.hidden_size, 2)
    settings = argparse.Namespace(data=args.data, length=128, batch_size=16, steps=args.steps)
    batches = fixed_shape_batches(datamodule(settings, tokenizer, max_eval_examples=1), args.steps, 16, 128)
    rows = interleaved(cases_for(encoder, head, batches), repeats=args.repeats)
    ratios = {
        "update: loop / fused time": rows["update loop"]["median"] / rows["update fused"]["median"],
        "update: loop / foreach time": rows["update loop"]["median"] / rows["update foreach"]["median"],
        "bf16 train step: loop / fused time": rows["train bf16 loop"]["median"]
        / rows["train bf16 fused"]["median"],
    }
    report_ratios(
        f"{args.backbone}: AdamW update and {args.steps} bf16 training steps of 16 × 128, per kernel",
        rows, "train bf16 loop", ratios, "bf16 train step: loop / fused time",
        "bf16 training step, fused AdamW / loop", TARGET, args.out,
    )  # fmt: skip


if __name__ == "__main__":
    main()
