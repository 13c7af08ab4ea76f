"""Benchmark: where bf16 inference gains on the CPU, and where it does not — the parts of one MiniLM pass.

    python scripts/bench_inference_parts.py [--repeats 5] [--out benchmarks/results/inference_parts.json]
    python scripts/bench_inference_parts.py --backbone tiny --repeats 1 --steps 1 --length 64   # smoke

Why: issue 14's inference target (bf16 ≥ 2× fp32, batch 16 × 256; `bench_precision_eval.py`) is missed, and
the question is whether anything in this project stands between it and 2×. The same fixed-shape batches of
real books reviews as `bench_precision_eval.py` (inference under `torch.inference_mode`, fp32 and
`torch.autocast("cpu", bfloat16)` as bf16-mixed evaluates) run under `torch.profiler`; each operator's own CPU
time is put in one part: the linear layers (`addmm`, `mm`, `bmm`), the attention kernel (torch's
`scaled_dot_product_attention` implementations), dtype casts (`copy_`, `_to_copy`) and the rest
(GELU, LayerNorm, adds, embeddings). Per part: milliseconds per batch in each precision, the ratio, and its
share of the bf16 pass. The headline is the bound the attention kernel sets: the whole-pass ratio if every
other part gained as much as the linear layers do, `fp32_total / (bf16_attention + (fp32_total −
fp32_attention) / linear_ratio)`. Profiler overhead inflates all parts a little; compare ratios, not times.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_precision_eval import (  # noqa: E402  (a sibling script: the same batches and model loading)
    TOKENIZER,
    autocast,
    datamodule,
    encoder_of,
    fixed_shape_batches,
    step_parser,
)

from nlp_transfer.benchmarking import headline, write_json  # noqa: E402
from nlp_transfer.models.backbone import tokenizer_from_package  # noqa: E402

PARTS = {
    "linear": ("aten::addmm", "aten::mm", "aten::bmm", "aten::baddbmm"),
    "attention": ("aten::_scaled_dot_product_flash_attention_for_cpu",
                  "aten::_scaled_dot_product_attention_math", "aten::_scaled_dot_product_efficient_attention",
                  "aten::softmax", "aten::_softmax"),
    "casts": ("aten::copy_", "aten::_to_copy"),
}  # fmt: skip


def part_of(op: str) -> str:
    return next((part for part, ops in PARTS.items() if op in ops), "other")


def profile_pass(encoder: Any, batches: list[dict], bf16: bool, repeats: int) -> dict[str, float]:
    """Milliseconds per batch of each part's own CPU time, the median pass of `repeats` profiled passes."""
    from torch.profiler import ProfilerActivity, profile

    def run() -> None:
        with torch.inference_mode(), autocast(bf16):
            for batch in batches:
                encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])

    run()  # warm-up: oneDNN primitives, allocator
    passes = []
    for _ in range(repeats):
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            run()
        parts: dict[str, float] = defaultdict(float)
        for event in prof.key_averages():
            parts[part_of(event.key)] += event.self_cpu_time_total / 1000 / len(batches)
        parts["total"] = sum(parts.values())
        passes.append(dict(parts))
    passes.sort(key=lambda p: p["total"])
    return passes[len(passes) // 2]


def main() -> None:
    parser = step_parser(__doc__, "inference_parts.json", steps=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--length", type=int, default=256)
    args = parser.parse_args()
    torch.manual_seed(0)
    encoder = encoder_of(args.backbone).eval()
    dm = datamodule(args, tokenizer_from_package(TOKENIZER), max_eval_examples=1)
    batches = fixed_shape_batches(dm, args.steps, args.batch_size, args.length)
    fp32 = profile_pass(encoder, batches, False, args.repeats)
    bf16 = profile_pass(encoder, batches, True, args.repeats)
    parts = {}
    for part in [*PARTS, "other", "total"]:
        a, b = fp32.get(part, 0.0), bf16.get(part, 0.0)
        parts[part] = {"fp32_ms": a, "bf16_ms": b, "ratio": a / b if b else None,
                       "bf16_share": b / bf16["total"]}  # fmt: skip
        ratio = f"{a / b:.2f}×" if b else "—"
        share = 100 * b / bf16["total"]
        print(f"{part:>9}: fp32 {a:8.1f} ms  bf16 {b:8.1f} ms  {ratio:>6}  ({share:.0f} % of bf16)")
    linear_ratio = parts["linear"]["ratio"] or 1.0
    rest_fp32 = fp32["total"] - fp32.get("attention", 0.0)
    bound = fp32["total"] / (bf16.get("attention", 0.0) + rest_fp32 / linear_ratio)
    print(f"whole pass {parts['total']['ratio']:.2f}×; with everything but attention at the linear layers' "
          f"{linear_ratio:.2f}×: at most {bound:.2f}×")  # fmt: skip
    write_json(
        {
            "benchmark": f"{args.backbone}: {args.steps} batches of {args.batch_size} × {args.length} "
            "tokens, inference, profiled by part",
            "headline": headline(
                "bf16 / fp32 inference bound with attention as measured",
                bound,
                "×",
                "≥ 2 (issue 14's inference target is reachable)",
                bound >= 2.0,
            ),  # fmt: skip
            "parts": parts,
            "whole_pass_ratio": parts["total"]["ratio"],
            "linear_ratio": linear_ratio,
            "settings": {k: str(v) for k, v in vars(args).items()},
            "threads": torch.get_num_threads(),
        },
        args.out,
    )


if __name__ == "__main__":
    main()
