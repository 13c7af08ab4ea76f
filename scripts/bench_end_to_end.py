"""Benchmark: end-to-end wall time of whole training commands, this tree vs an older commit (issue 14).

    python scripts/bench_end_to_end.py [--baseline fd7b99e] [--rounds 1] [--quick]
        [--only make_train,amazon_grid_slice] [--out benchmarks/results/end_to_end.json]

The same commands run in two copies of the project: this one, and the files of `--baseline` exported
with `git archive` to a sibling folder (`../e2e_<commit>`, so `../shared` resolves from it as from the
repo). Both use this interpreter, the same data (NLP_TRANSFER_DATA), and their own log and cache folders
(NLP_TRANSFER_LOGS / NLP_TRANSFER_CACHE; an empty cache per run unless `--warm-cache`), PYTHONPATH set to
the tree's own sources. Runs interleave (baseline, current; then current, baseline; …) so a neighbour's
load hits both alike. Each run's wall seconds come from a fresh process; target accuracy from every
results.json it wrote. Target: current ≥ 1.8 × faster than the baseline, target accuracy within
`--accuracy-tolerance`. `--quick` adds `backbone=tiny debug=smoke` to every command (a check that the
machinery works, not a measurement).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from nlp_transfer.benchmarking import RESULTS_DIR, headline, run_child, summarize, write_json

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("NLP_TRANSFER_DATA", PROJECT_ROOT.parent / "shared" / "data"))
TARGET_SPEEDUP = 1.8  # issue 14: each command ≥ 1.8 × faster in wall time than at fd7b99e
BASELINE_COMMIT = "fd7b99e"
#: name → train.py arguments (no W&B in either tree: a logger's network time is not the framework's)
COMMANDS: dict[str, list[str]] = {
    "make_train": ["logger=none"],
    "amazon_grid_slice": [
        "-m", "experiment=amazon_grid", "strategy=dann", "domain.source=books,dvd",
        "domain.target=kitchen,electronics", "logger=none",
    ],
}  # fmt: skip
QUICK = ["backbone=tiny", "debug=smoke"]


def export_tree(commit: str, tree: Path) -> Path:
    """The files of `commit` in `tree` (git archive; no worktree is registered). Reused when present."""
    marker = tree / ".bench_commit"
    full = subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), "rev-parse", "--verify", f"{commit}^{{commit}}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if full.returncode != 0:
        raise SystemExit(f"commit {commit} is not in this repository (fetch it, or pass --baseline)")
    sha = full.stdout.strip()
    if tree.exists():
        if marker.is_file() and marker.read_text().strip() == sha:
            return tree
        raise SystemExit(f"{tree} exists but is not an export of {sha}: remove it or pass --baseline-tree")
    archive = subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), "archive", sha], capture_output=True, check=True
    )
    tree.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(tree, filter="data")
    marker.write_text(sha + "\n")
    return tree


def check_tree(tree: Path) -> None:
    """`train.py --cfg job` must compose in `tree` with this interpreter, before any long run starts."""
    run = run_child([sys.executable, "train.py", "--cfg", "job"], cwd=tree, env=tree_env(tree, tree, None))
    if run["returncode"] != 0:
        raise SystemExit(f"`train.py --cfg job` fails in {tree}:\n{run['stderr'][-2000:]}")


def tree_env(tree: Path, logs: Path, cache: Path | None) -> dict[str, str]:
    """This environment with the tree's own sources first and its own log and cache folders."""
    env = {**os.environ, "PYTHONPATH": f"{tree / 'src'}{os.pathsep}{tree}", "NLP_TRANSFER_DATA": str(DATA)}
    env |= {"NLP_TRANSFER_LOGS": str(logs), "HYDRA_FULL_ERROR": "1"}
    if cache is not None:
        env["NLP_TRANSFER_CACHE"] = str(cache)
    return env


def run_once(tree: Path, arguments: list[str], scratch: Path, cache: Path, timeout: float) -> dict[str, Any]:
    """One command in `tree`: wall/CPU seconds, peak RSS, and each job's status and target accuracy."""
    logs = scratch / "logs"
    run = run_child(
        [sys.executable, "train.py", *arguments], cwd=tree, env=tree_env(tree, logs, cache), timeout=timeout
    )
    (scratch / "output.log").write_text(run["stdout"] + run["stderr"])
    jobs = jobs_of(logs)
    if run["returncode"] != 0 or not jobs:
        raise RuntimeError(f"{' '.join(arguments)} in {tree} failed:\n{run['stderr'][-2000:]}")
    return {
        "wall_seconds": run["wall_seconds"],
        "cpu_seconds": run["cpu_seconds"],
        "peak_rss_mib": run["peak_rss_mib"],
        "jobs": jobs,
        "mean_target_acc": mean_target_acc(jobs),
    }


def jobs_of(logs: Path) -> list[dict[str, Any]]:
    """Every job under `logs` (one per results.json, in folder order): status, target accuracy, cost."""
    jobs = []
    for path in sorted(logs.rglob("results.json")):
        record = json.loads(path.read_text())
        metrics, cost = record.get("metrics") or {}, record.get("cost") or {}
        jobs.append(
            {
                "run_dir": path.parent.name,
                "status": record.get("status"),
                "target_acc": metrics.get("target/test/acc"),
                "precision": cost.get("precision"),
                "seconds_to_first_step": cost.get("seconds_to_first_step"),
            }
        )
    return jobs


def mean_target_acc(jobs: list[dict[str, Any]]) -> float | None:
    accuracies = [job["target_acc"] for job in jobs if job["target_acc"] is not None]
    return statistics.fmean(accuracies) if accuracies else None


def measure_case(
    name: str, arguments: list[str], trees: dict[str, Path], args: argparse.Namespace, scratch: Path
) -> dict[str, Any]:
    """`--rounds` runs of one command in each tree, alternating which tree goes first."""
    runs: dict[str, list[dict]] = {label: [] for label in trees}
    for round_index in range(args.rounds):
        order = list(trees) if round_index % 2 == 0 else list(reversed(trees))
        for label in order:
            where = scratch / name / label / f"round{round_index}"
            cache = scratch / label / "cache" if args.warm_cache else where / "cache"
            print(f"{name} round {round_index + 1}/{args.rounds}: {label} ...", flush=True)
            runs[label].append(run_once(trees[label], arguments, where, cache, args.timeout))
            print(f"  {runs[label][-1]['wall_seconds']:.1f} s", flush=True)
    return compare(runs, args.accuracy_tolerance) | {"command": ["python", "train.py", *arguments]}


def compare(runs: dict[str, list[dict]], tolerance: float) -> dict[str, Any]:
    """Median wall seconds per tree, speedup = baseline / current, and the accuracy check."""
    walls = {label: summarize([r["wall_seconds"] for r in rs]) for label, rs in runs.items()}
    accuracy = {
        label: statistics.fmean(r["mean_target_acc"] for r in rs)
        if rs[0]["mean_target_acc"] is not None
        else None
        for label, rs in runs.items()
    }
    speedup = walls["baseline"]["median"] / walls["current"]["median"]
    same = None
    if None not in accuracy.values():
        same = abs(accuracy["current"] - accuracy["baseline"]) <= tolerance
    met = speedup >= TARGET_SPEEDUP and same is not False
    return {
        "wall_seconds": walls,
        "speedup": speedup,
        "mean_target_acc": accuracy,
        "accuracy_within_tolerance": same,
        "met": met,
        "runs": runs,
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=BASELINE_COMMIT, help="the commit to compare against")
    parser.add_argument("--baseline-tree", type=Path, default=None, help="default: ../e2e_<commit>")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each command in each tree")
    parser.add_argument(
        "--only", default=",".join(COMMANDS), help=f"comma-separated subset of {list(COMMANDS)}"
    )
    parser.add_argument("--quick", action="store_true", help=f"add {' '.join(QUICK)}: checks the machinery")
    parser.add_argument("--warm-cache", action="store_true", help="one tokenization cache per tree, kept")
    parser.add_argument(
        "--accuracy-tolerance",
        type=float,
        default=0.03,
        help="|Δ target acc| allowed: ≈ 2 binomial standard errors of one 396-review test split at 0.87",
    )
    parser.add_argument("--timeout", type=float, default=7200, help="seconds allowed per run")
    parser.add_argument("--scratch", type=Path, default=None, help="keep logs here (default: a temp dir)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "end_to_end.json")
    args = parser.parse_args()
    args.names = [n.strip() for n in args.only.split(",") if n.strip()]
    if not args.names or set(args.names) - set(COMMANDS):
        parser.error(f"--only takes names from {list(COMMANDS)}")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def main() -> None:
    args = parse_args()
    tree = args.baseline_tree or PROJECT_ROOT.parent / f"e2e_{args.baseline}"
    trees = {"baseline": export_tree(args.baseline, tree), "current": PROJECT_ROOT}
    for path in trees.values():
        check_tree(path)
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="bench_e2e_"))
    cases = {}
    for name in args.names:
        arguments = COMMANDS[name] + (QUICK if args.quick else [])
        cases[name] = measure_case(name, arguments, trees, args, scratch)
        print(f"{name}: speedup {cases[name]['speedup']:.2f}×, target acc {cases[name]['mean_target_acc']}")
    if args.scratch is None:
        shutil.rmtree(scratch, ignore_errors=True)
    slowest = min(cases.values(), key=lambda case: case["speedup"])
    write_json(
        {
            "benchmark": f"end to end, this tree vs {args.baseline}",
            "headline": headline(
                f"wall-time speedup vs {args.baseline} (the smaller of the commands)",
                slowest["speedup"], "×",
                f"≥ {TARGET_SPEEDUP}", all(case["met"] for case in cases.values()),
            ),
            "baseline": {"commit": args.baseline, "tree": str(tree)},
            "cases": cases,
            "settings": {k: str(v) for k, v in vars(args).items()},
        },
        args.out,
    )  # fmt: skip


if __name__ == "__main__":
    main()
