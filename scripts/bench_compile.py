"""Benchmark: does `torch.compile` pay off on the CPU within one default run? Eager vs compiled encoder.

    python scripts/bench_compile.py [--steps 4] [--repeats 3] [--out benchmarks/results/compile.json]
    python scripts/bench_compile.py --backbone tiny --steps 1 --repeats 1 --length 32 --backend aot_eager
                                   # smoke: traces and compiles without inductor's C++ code generation

Two steps, each eager and with the encoder compiled in place (`nn.Module.compile()`, default mode, what a
`backbone.compile` option would do): a MiniLM fine-tune step on batches of 16 × 256 tokens (fixed shape,
as bench_precision_eval.py builds them) and a DANN step on bench_dann_step.py's length-grouped batches
(their shapes vary, as in training: each new shape may recompile). Both at the default precision of this
CPU (bf16 autocast where native, as `trainer.precision=auto` resolves). Compile seconds = the first pass
over the batches compiled minus the same pass eager; then the median over `--repeats` passes. Break-even:
compile seconds / (eager − compiled seconds per step); it pays off within one default run when that is
≤ 172 steps (2 epochs × 86 steps of the default fine-tune).
"""

from __future__ import annotations

import argparse
import functools
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from bench_dann_step import DATA, build, training_steps
from bench_precision_eval import (
    TOKENIZER,
    datamodule,
    encoder_of,
    fixed_shape_batches,
    tokenizer_from_package,
)

from nlp_transfer.benchmarking import RESULTS_DIR, headline, summarize, timed, write_json
from nlp_transfer.precision import resolve_precision

DEFAULT_RUN_STEPS = 2 * 86  # the default fine-tune: 2 epochs of 86 steps of batch 16


def eager_vs_compiled(
    make: Callable[[], Callable[[], None]], compile_: Callable[[], None], args: Any
) -> dict:
    """Seconds of one pass (`args.steps` steps) eager, then compiled: first pass, median of the rest."""
    run = make()
    eager_first = timed(run)  # warm-up (allocator, kernels' first call)
    eager = summarize([timed(run) for _ in range(args.repeats)])
    compile_()
    run = make()
    compiled_first = timed(run)
    compiled = summarize([timed(run) for _ in range(args.repeats)])
    per_step = {"eager": eager["median"] / args.steps, "compiled": compiled["median"] / args.steps}
    compile_seconds = compiled_first - eager["median"]
    gain = per_step["eager"] - per_step["compiled"]
    break_even = math.ceil(compile_seconds / gain) if gain > 0 else None
    return {
        "eager_first_pass_seconds": eager_first,
        "eager_pass_seconds": eager,
        "compiled_first_pass_seconds": compiled_first,
        "compiled_pass_seconds": compiled,
        "step_seconds": per_step,
        "compile_seconds": compile_seconds,
        "break_even_steps": break_even,
        "pays_off_within_one_default_run": "yes"
        if break_even is not None and break_even <= DEFAULT_RUN_STEPS
        else "no",
    }


def fine_tune_case(args: argparse.Namespace, autocast: Callable[[], Any]) -> dict:
    """MiniLM (or tiny) encoder + linear head on [CLS], AdamW, fixed 16 × `--length` batches."""
    torch.manual_seed(0)
    tokenizer = tokenizer_from_package(TOKENIZER)
    data_args = argparse.Namespace(data=args.data, length=args.length, batch_size=16, steps=args.steps)
    batches = fixed_shape_batches(
        datamodule(data_args, tokenizer, max_eval_examples=1), args.steps, 16, args.length
    )
    encoder = encoder_of(args.backbone)
    head = torch.nn.Linear(encoder.config.hidden_size, 2)
    optimizer = torch.optim.AdamW([*encoder.parameters(), *head.parameters()], lr=2e-5)
    encoder.train()

    def make() -> Callable[[], None]:
        def run() -> None:
            for batch in batches:
                with autocast():
                    out = encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
                    loss = torch.nn.functional.cross_entropy(
                        head(out.last_hidden_state[:, 0]), batch["labels"]
                    )
                loss.backward()
                optimizer.step()
                optimizer.zero_grad()

        return run

    return eager_vs_compiled(make, functools.partial(encoder.compile, backend=args.backend), args)


def dann_case(args: argparse.Namespace, autocast: Callable[[], Any]) -> dict:
    """bench_dann_step.py's DANN module and length-grouped books + kitchen batches (16 × ≤ 128 tokens)."""
    encoder = functools.partial(encoder_of, args.backbone)
    batches, _, dann = build(args.data, args.steps, encoder=encoder)

    def make() -> Callable[[], None]:
        steps = training_steps(dann, batches)

        def run() -> None:
            with autocast():  # Lightning's bf16-mixed: the whole training_step under autocast
                steps()

        return run

    return eager_vs_compiled(make, functools.partial(dann.encoder.compile, backend=args.backend), args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--backbone", default=TOKENIZER, help="a model package, or `tiny` (smoke test)")
    parser.add_argument("--length", type=int, default=256, help="tokens per fine-tune batch row")
    parser.add_argument("--steps", type=int, default=4, help="steps per timed pass")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes after the first")
    parser.add_argument("--backend", default="inductor", help="torch.compile backend (inductor: the default)")
    parser.add_argument("--precision", default=None, help="default: what trainer.precision=auto resolves to")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "compile.json")
    args = parser.parse_args()
    precision = args.precision or resolve_precision("cpu")
    bf16 = precision.startswith("bf16")

    def autocast() -> Any:
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16)

    cases = {
        f"fine_tune step, batch 16 × {args.length}": fine_tune_case(args, autocast),
        "dann step, batch 16 + 16 × ≤ 128 (length-grouped)": dann_case(args, autocast),
    }
    report(args, precision, cases)


def report(args: argparse.Namespace, precision: str, cases: dict[str, dict]) -> None:
    """Print eager/compiled step seconds, compile seconds and break-even per case; write the JSON."""
    print(f"\n{'case':52s} {'eager s':>8s} {'comp. s':>8s} {'compile s':>9s} {'break-even':>10s}")
    for name, case in cases.items():
        steps = case["step_seconds"]
        print(f"{name:52s} {steps['eager']:8.3f} {steps['compiled']:8.3f} {case['compile_seconds']:9.1f} "
              f"{case['break_even_steps']!s:>10s}")  # fmt: skip
    fine_tune = next(iter(cases.values()))
    speedup = fine_tune["step_seconds"]["eager"] / fine_tune["step_seconds"]["compiled"]
    pays = all(case["pays_off_within_one_default_run"] == "yes" for case in cases.values())
    conclusion = f"pays off within one default run ({DEFAULT_RUN_STEPS} steps): {'yes' if pays else 'no'}"
    print(conclusion)
    write_json(
        {
            "benchmark": f"torch.compile ({args.backend}) vs eager, {args.backbone}, {precision}, "
            f"{args.steps} steps per pass",
            "headline": headline(
                "compiled / eager fine-tune step speed", speedup, "×", "> 1 and break-even ≤ 172 steps", pays
            ),
            "cases": cases,
            "precision": precision,
            "default_run_steps": DEFAULT_RUN_STEPS,
            "conclusion": conclusion,
            "torch": torch.__version__,
            "settings": {k: str(v) for k, v in vars(args).items()},
        },
        args.out,
    )


if __name__ == "__main__":
    main()
