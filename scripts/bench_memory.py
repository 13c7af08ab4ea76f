"""Benchmark: peak resident memory of a MiniLM fine-tune at batch 32, 256 tokens (target ≤ 3 GB).

    python scripts/bench_memory.py [--steps 3] [--repeats 1] [--out benchmarks/results/memory.json]

Runs `train.py` in a fresh process for a few training steps, then its (shortened) validation and test,
and reads the child's own peak RSS from the kernel (`ru_maxrss` via `os.wait4`). Random batches
(`task.length_grouping=false`) so nearly every batch holds one long review and is padded to 256: the
worst case for memory. No experiment logger and no checkpoint; everything else is the default run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from nlp_transfer.benchmarking import RESULTS_DIR, headline, run_child, summarize, write_json

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TARGET_MIB = 3 * 1024  # 3 GB (issue 7)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backbone", default="minilm")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--cache-dir", default=str(Path(tempfile.gettempdir()) / "nlp_transfer_bench_cache"))
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "memory.json")
    args = parser.parse_args()

    runs = []
    for _ in range(args.repeats):
        runs.append(_measure(args, gradient_checkpointing=False))
    # the same run with the encoder's activations recomputed in backward (backbone option): what it saves
    checkpointed = _measure(args, gradient_checkpointing=True)
    _report(args, runs, checkpointed)


def _measure(args: argparse.Namespace, gradient_checkpointing: bool) -> dict:
    with tempfile.TemporaryDirectory() as run_dir:
        command = [
                sys.executable, "train.py", f"backbone={args.backbone}", "strategy=fine_tune",
                f"backbone.encoder.gradient_checkpointing={str(gradient_checkpointing).lower()}",
                "selection=none",
                f"task.batch_size={args.batch_size}", f"task.max_length={args.max_length}",
                "task.length_grouping=false", f"task.eval_batch_size={args.batch_size}",
                f"trainer.max_steps={args.steps}", "trainer.max_epochs=-1", "trainer.limit_val_batches=2",
                "trainer.limit_test_batches=2", "logger=none", "~callbacks.model_checkpoint",
                f"hydra.run.dir={run_dir}", f"paths.cache_dir={args.cache_dir}",
            ]  # fmt: skip
        run = run_child(command, cwd=PROJECT_ROOT)
        if run["returncode"] != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{run['stderr'][-3000:]}")
        cost = json.loads((Path(run_dir) / "results.json").read_text())["cost"]
        if cost.get("train_steps") != args.steps:
            raise RuntimeError(
                f"expected {args.steps} training steps, the run made {cost.get('train_steps')}"
            )
        print(
            f"peak RSS {run['peak_rss_mib']:.0f} MiB ({run['wall_seconds']:.0f} s)"
            f"{' with gradient checkpointing' if gradient_checkpointing else ''}"
        )
        return {"child_peak_rss_mib": run["peak_rss_mib"], "self_reported": cost}


def _report(args: argparse.Namespace, runs: list[dict], checkpointed: dict) -> None:
    peak = summarize([r["child_peak_rss_mib"] for r in runs])
    setting = (
        f"{args.backbone} fine-tune, batch {args.batch_size}, {args.max_length} tokens, {args.steps} steps"
    )
    print(f"\npeak resident memory, {setting}: median {peak['median']:.0f} MiB", end=" ")
    print(f"(min {peak['min']:.0f}, max {peak['max']:.0f})")
    summary = headline(
        "peak RSS of the fine-tune", peak["median"], "MiB", f"≤ {TARGET_MIB}", peak["median"] <= TARGET_MIB
    )
    print(f"target ≤ {TARGET_MIB} MiB: {'met' if summary['met'] else 'MISSED'}")
    print(f"with backbone.encoder.gradient_checkpointing=true: {checkpointed['child_peak_rss_mib']:.0f} MiB")
    write_json(
        {
            "benchmark": "peak memory",
            "headline": summary,
            "peak_rss_mib": peak,
            "runs": runs,
            "with_gradient_checkpointing": checkpointed,
            "settings": vars(args) | {"out": str(args.out)},
        },
        args.out,
    )


if __name__ == "__main__":
    main()
