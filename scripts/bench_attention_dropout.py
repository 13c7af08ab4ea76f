"""Benchmark: MiniLM training steps with the project's CPU training attention vs torch's own.

    python scripts/bench_attention_dropout.py [--repeats 5] [--out benchmarks/results/attention_dropout.json]
    python scripts/bench_attention_dropout.py --repeats 1 --steps 1 --backbone tiny   # smoke

The project's attention (`backbone.encoder.recompute_attention=true`, models/recomputed_attention.py) draws
the attention-dropout pattern four entries per 64-bit random number (models/dropout_pattern.py); torch's
SDPA math path (`=false`) draws one per score with `bernoulli_`. Same formula, same dropout distribution.
Steps (forward, backward, AdamW at lr 0, so every case sees the same weights) on real Amazon books reviews,
batch 16 × 128 (the benchmark's length) and × 256 (the default), fp32 and bf16 autocast, all cases in
interleaved repeats; target: the default bf16 step (256 tokens) ≥ 1.1× faster than with torch's attention.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import torch

from nlp_transfer.benchmarking import report_ratios
from nlp_transfer.models.backbone import from_package, random_bert, tokenizer_from_package

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_precision_eval import (  # noqa: E402
    TOKENIZER,
    datamodule,
    fixed_shape_batches,
    interleaved,
    step_cases,
    step_parser,
)

TARGET = 1.1  # the default bf16 step with the project's attention / with torch's (issue 14)
LENGTHS = (128, 256)


def encoder(backbone: str, project_attention: bool) -> Any:
    if backbone == "tiny":
        return random_bert(num_attention_heads=4, recompute_attention=project_attention)
    return from_package(backbone, recompute_attention=project_attention)


def main() -> None:
    args = step_parser(__doc__, "attention_dropout.json").parse_args()
    torch.manual_seed(0)
    tokenizer = tokenizer_from_package(TOKENIZER)
    models = {"project": encoder(args.backbone, True), "torch": encoder(args.backbone, False)}
    models["torch"].load_state_dict(models["project"].state_dict())
    head = torch.nn.Linear(models["project"].config.hidden_size, 2)
    cases = {}
    for length in LENGTHS:
        settings = argparse.Namespace(data=args.data, length=length, batch_size=16, steps=args.steps)
        batches = fixed_shape_batches(
            datamodule(settings, tokenizer, max_eval_examples=1), args.steps, 16, length
        )
        for name, model in models.items():
            steps = step_cases(model, head, batches)  # the precision bench's training step: same loss, lr 0
            for precision in ("fp32", "bf16"):
                cases[f"{length} {precision} {name}"] = steps[f"train {precision}"]
    rows = interleaved(cases, repeats=args.repeats)
    ratios = {
        f"{length} {precision}: project / torch speed": rows[f"{length} {precision} torch"]["median"]
        / rows[f"{length} {precision} project"]["median"]
        for length in LENGTHS
        for precision in ("fp32", "bf16")
    }
    report_ratios(
        f"{args.backbone}: {args.steps} training steps of batch 16, per length and precision",
        rows, "256 fp32 torch", ratios, "256 bf16: project / torch speed",
        "default bf16 step, project attention / torch's", TARGET, args.out,
    )  # fmt: skip


if __name__ == "__main__":
    main()
