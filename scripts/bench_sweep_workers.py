"""Benchmark: one sweep split between two one-thread workers vs the same sweep in one process.

    python scripts/bench_sweep_workers.py [--workers 2] [--rounds 1] [--quick]
        [--out benchmarks/results/sweep_workers.json]

The sweep is issue 14's 4-job DANN slice of `experiment=amazon_grid` (books, dvd → kitchen, electronics;
`logger=none`), with a fixed `run_id` so that every worker writes into one sweep folder. Baseline: one
`train.py -m` process with torch's default threads (one per core). Candidate: the same command started
`--workers` times at once, each with `OMP_NUM_THREADS=1` (README, "Several workers on one sweep"): a job
another worker holds (its run.lock) is skipped, a finished one is not retrained, so each job is trained
by exactly one worker (checked here: one "trainable parameters" line per job over all workers' output).
Wall time runs from the start to the last worker's exit. Why it can pay: on 2 cores, two one-thread
processes keep both busy through the parts one process runs on a single thread (data loading, Python
overhead of each step, evaluation bookkeeping, checkpoint writes, start-up) and avoid thread
synchronisation in small matmuls. Target (this project's, for issue 14's "cheap sweeps"): ≥ 1.15× faster.
Target accuracy is reported for both, not required to match exactly: other thread counts reorder float sums.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_end_to_end import COMMANDS, QUICK, jobs_of, mean_target_acc, tree_env  # noqa: E402  (a sibling)

from nlp_transfer.benchmarking import RESULTS_DIR, headline, run_child, summarize, write_json  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TARGET_SPEEDUP = 1.15
SLICE = COMMANDS["amazon_grid_slice"]  # the end-to-end benchmark's slice: one definition for both
TRAINED = "trainable parameters"  # train.py logs it once per job it builds a model for


def environment(logs: Path, cache: Path, threads: int | None) -> dict[str, str]:
    """The end-to-end benchmark's environment for this tree, with `threads` torch threads (None: torch's)."""
    env = tree_env(PROJECT_ROOT, logs, cache)
    env.pop("OMP_NUM_THREADS", None)
    if threads is not None:
        env |= {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    return env


def one_process(arguments: list[str], where: Path, timeout: float) -> dict[str, Any]:
    """The sweep in one process, default threads."""
    logs = where / "logs"
    run = run_child([sys.executable, "train.py", *arguments], cwd=PROJECT_ROOT,
                    env=environment(logs, where / "cache", None), timeout=timeout)  # fmt: skip
    output = run["stdout"] + run["stderr"]
    (where / "output.log").write_text(output)
    if run["returncode"] != 0:
        raise RuntimeError(f"one process failed:\n{run['stderr'][-2000:]}")
    return {"wall_seconds": run["wall_seconds"], "trainings": output.count(TRAINED), "jobs": jobs_of(logs)}


def workers(arguments: list[str], where: Path, count: int, timeout: float) -> dict[str, Any]:
    """The same command started `count` times at once, one thread each, into one sweep folder."""
    logs, outputs = where / "logs", []
    where.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    processes = []
    for index in range(count):
        log = (where / f"worker{index}.log").open("w")
        outputs.append(log)
        processes.append(subprocess.Popen(
            [sys.executable, "train.py", *arguments], cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
            env=environment(logs, where / "cache", 1),
        ))  # fmt: skip
    codes = [process.wait(timeout=timeout) for process in processes]
    wall = time.perf_counter() - start
    for log in outputs:
        log.close()
    texts = [(where / f"worker{index}.log").read_text() for index in range(count)]
    if any(codes):
        raise RuntimeError(f"a worker failed (exit codes {codes}):\n{texts[codes.index(max(codes))][-2000:]}")
    return {
        "wall_seconds": wall,
        "trainings": sum(text.count(TRAINED) for text in texts),
        "trained_per_worker": [text.count(TRAINED) for text in texts],
        "jobs": jobs_of(logs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--rounds", type=int, default=1, help="runs of each way, alternating which goes first"
    )
    parser.add_argument("--quick", action="store_true", help=f"add {' '.join(QUICK)}: checks the machinery")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "sweep_workers.json")
    args = parser.parse_args()
    if args.workers < 2:
        parser.error("--workers must be at least 2")
    runs: dict[str, list[dict]] = {"one process": [], "workers": []}
    with tempfile.TemporaryDirectory(prefix="bench_workers_") as scratch:
        for round_index in range(args.rounds):
            order = list(runs) if round_index % 2 == 0 else list(reversed(runs))
            for way in order:
                arguments = [*SLICE, f"run_id=slice_round{round_index}", *(QUICK if args.quick else [])]
                where = Path(scratch) / way.replace(" ", "_") / f"round{round_index}"
                print(f"round {round_index + 1}/{args.rounds}: {way} ...", flush=True)
                run = (one_process(arguments, where, args.timeout) if way == "one process"
                       else workers(arguments, where, args.workers, args.timeout))  # fmt: skip
                print(f"  {run['wall_seconds']:.1f} s, {run['trainings']} trainings", flush=True)
                runs[way].append(run)
    expected = len(runs["one process"][0]["jobs"])
    for way, done in runs.items():
        for run in done:
            if len(run["jobs"]) != expected or any(job["status"] != "ok" for job in run["jobs"]):
                raise RuntimeError(f"{way}: not every job finished ok: {run['jobs']}")
            if run["trainings"] != expected:
                raise RuntimeError(f"{way}: {run['trainings']} trainings for {expected} jobs")
    walls = {way: summarize([run["wall_seconds"] for run in done]) for way, done in runs.items()}
    speedup = walls["one process"]["median"] / walls["workers"]["median"]
    accuracy = {
        way: statistics.fmean(mean_target_acc(run["jobs"]) for run in done) for way, done in runs.items()
    }
    print(f"{args.workers} one-thread workers vs one process: {speedup:.2f}× (target ≥ {TARGET_SPEEDUP}×); "
          f"mean target acc {accuracy['workers']:.4f} vs {accuracy['one process']:.4f}")  # fmt: skip
    write_json(
        {
            "benchmark": f"one {expected}-job sweep: {args.workers} one-thread workers vs one process",
            "headline": headline(
                f"{args.workers} workers vs one process, wall time",
                speedup,
                "×",
                f"≥ {TARGET_SPEEDUP}",
                speedup >= TARGET_SPEEDUP,
            ),  # fmt: skip
            "wall_seconds": walls,
            "mean_target_acc": accuracy,
            "runs": runs,
            "command": ["python", "train.py", *SLICE, "run_id=…", *(QUICK if args.quick else [])],
            "settings": {k: str(v) for k, v in vars(args).items()},
        },
        args.out,
    )


if __name__ == "__main__":
    main()
