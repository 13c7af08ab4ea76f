"""Benchmark: how soon the second and later jobs of an in-process multirun reach their first training step.

    python scripts/bench_multirun_first_step.py [--jobs 3] [--backbone minilm]
        [--out benchmarks/results/multirun_first_step.json]

One `train.py -m` sweep over `seed=1,…,N` (Hydra's default launcher: every job in one process), each job
a tiny budget (one epoch of `trainer.limit_train_batches=2` steps, small slices, one validation and one
test batch) so the start-up is most of it. Each job's results.json holds `cost.seconds_to_first_step`:
the first job counts from the process start, later ones from their own start (train.py), which the
weights kept in memory by `models/pretrained_memo.py` should keep short. Target: every later job
≤ 3 s (issue 14).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from nlp_transfer.benchmarking import RESULTS_DIR, headline, run_child, write_json

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 3.0  # issue 14: second and later jobs of a multirun reach their first step in ≤ 3 s


def sweep_command(args: argparse.Namespace, sweep_dir: Path) -> list[str]:
    """A multirun over seeds with a budget of a few steps: start-up dominates each job."""
    seeds = ",".join(str(seed) for seed in range(1, args.jobs + 1))
    return [
        sys.executable, "train.py", "-m", f"seed={seeds}", f"backbone={args.backbone}", "strategy=fine_tune",
        f"trainer.limit_train_batches={args.steps}", "trainer.max_epochs=1", "trainer.limit_val_batches=1",
        "trainer.limit_test_batches=1", "task.max_train_examples=64", "task.max_eval_examples=64",
        "logger=none", f"hydra.sweep.dir={sweep_dir}", f"paths.cache_dir={args.cache_dir}",
    ]  # fmt: skip


def job_costs(sweep_dir: Path) -> list[dict]:
    """Each job's number, status and seconds to its first training step, in job order."""
    jobs = []
    for path in sweep_dir.glob("*/results.json"):
        record = json.loads(path.read_text())
        number = int(path.parent.name.split("_", 1)[0])
        cost = record.get("cost") or {}
        jobs.append(
            {
                "job": number,
                "status": record.get("status"),
                "seconds_to_first_step": cost.get("seconds_to_first_step"),
                "wall_seconds": cost.get("wall_seconds"),
            }
        )
    return sorted(jobs, key=lambda job: job["job"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=3)
    parser.add_argument("--backbone", default="minilm")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--cache-dir", default=str(Path(tempfile.gettempdir()) / "nlp_transfer_bench_cache"))
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "multirun_first_step.json")
    args = parser.parse_args()
    if args.jobs < 2:
        parser.error("--jobs must be at least 2 (the second job is what is measured)")
    with tempfile.TemporaryDirectory() as scratch:
        sweep_dir = Path(scratch) / "sweep"
        command = sweep_command(args, sweep_dir)
        run = run_child(command, cwd=PROJECT_ROOT)
        jobs = job_costs(sweep_dir)
    if run["returncode"] != 0 or len(jobs) != args.jobs or any(job["status"] != "ok" for job in jobs):
        raise RuntimeError(f"{' '.join(command)} failed ({jobs}):\n{run['stderr'][-3000:]}")
    later = [job["seconds_to_first_step"] for job in jobs[1:]]
    if None in later:
        raise RuntimeError("a results.json has no cost.seconds_to_first_step (ThroughputMonitor off?)")
    worst = max(later)
    for job in jobs:
        print(f"job {job['job']}: first training step after {job['seconds_to_first_step']:.2f} s")
    summary = headline(
        "later multirun jobs: seconds to first step (worst)", worst, "s", f"≤ {TARGET_SECONDS}",
        worst <= TARGET_SECONDS,
    )  # fmt: skip
    verdict = "met" if summary["met"] else "MISSED"
    print(f"{summary['name']}: {worst:.2f} s (target ≤ {TARGET_SECONDS} s: {verdict})")
    write_json(
        {
            "benchmark": f"{args.jobs}-job in-process multirun, {args.backbone}, {args.steps} steps each",
            "headline": summary,
            "jobs": jobs,
            "sweep_wall_seconds": run["wall_seconds"],
            "command": ["python", *command[1:]],
            "settings": vars(args) | {"out": str(args.out)},
        },
        args.out,
    )


if __name__ == "__main__":
    main()
