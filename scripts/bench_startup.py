"""Benchmark: start-up, `python train.py --cfg job` wall time and the time from process start to the first
training step; which imports dominate, and whether the heavy ones stay out of `--cfg`.

    python scripts/bench_startup.py [--repeats 5] [--first-step-repeats 2]
        [--out benchmarks/results/startup.json]

Every measurement is a fresh subprocess (median, min, max after one warm-up). CPU seconds are reported
beside wall seconds: on a machine shared with other jobs, wall time includes waiting for a core.
The first step is a `debug=smoke` run (`--backbone tiny` by default): the throughput callback records
the process's age when the first training step starts (`cost.seconds_to_first_step` in results.json).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from nlp_transfer.benchmarking import RESULTS_DIR, headline, run_child, summarize, write_json

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 1.5  # `python train.py --cfg job` (issue 7)
#: imported only once a job runs: `--cfg`, `--help` and tab completion must not pay for them
HEAVY = ("torch", "pytorch_lightning", "lightning", "transformers", "peft", "wandb", "torchmetrics")


def parse_importtime(stderr: str) -> list[dict]:
    """`-X importtime` lines → [{module, self_ms, cumulative_ms, depth}] in import order."""
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        self_us, cumulative_us, name = line[len("import time:") :].split("|")
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        rows.append(
            {
                "module": name.strip(),
                "self_ms": int(self_us) / 1000,
                "cumulative_ms": int(cumulative_us) / 1000,
                "depth": depth,
            }
        )
    return rows


def repeated(command: list[str], repeats: int) -> dict:
    """Wall and CPU seconds of `command` over `repeats` fresh processes, after one warm-up process."""
    env = {**os.environ, "HYDRA_FULL_ERROR": "1"}
    run_child(command, cwd=PROJECT_ROOT, env=env)
    runs = [run_child(command, cwd=PROJECT_ROOT, env=env) for _ in range(repeats)]
    failed = [r for r in runs if r["returncode"] != 0]
    if failed:
        raise RuntimeError(f"{' '.join(command)} failed:\n{failed[0]['stderr'][-2000:]}")
    return {
        "wall": summarize([r["wall_seconds"] for r in runs]),
        "cpu": summarize([r["cpu_seconds"] for r in runs]),
    }


def first_step(backbone: str, repeats: int, cache_dir: str) -> dict:
    """Seconds from process start to the first training step, and of the whole smoke run."""
    ages, walls = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as run_dir:
            command = [
                sys.executable, "train.py", f"backbone={backbone}", "debug=smoke", "logger=none",
                f"hydra.run.dir={run_dir}", f"paths.cache_dir={cache_dir}",
            ]  # fmt: skip
            run = run_child(command, cwd=PROJECT_ROOT)
            if run["returncode"] != 0:
                raise RuntimeError(f"{' '.join(command)} failed:\n{run['stderr'][-2000:]}")
            cost = json.loads((Path(run_dir) / "results.json").read_text())["cost"]
            if cost.get("seconds_to_first_step") is None:
                raise RuntimeError("results.json has no cost.seconds_to_first_step (ThroughputMonitor off?)")
            ages.append(cost["seconds_to_first_step"])
            walls.append(run["wall_seconds"])
    return {"seconds_to_first_step": summarize(ages), "smoke_run_wall": summarize(walls)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--first-step-repeats", type=int, default=2)
    parser.add_argument("--backbone", default="tiny", help="backbone of the first-step smoke run")
    parser.add_argument("--top", type=int, default=12, help="how many imports to list")
    parser.add_argument("--cache-dir", default=str(Path(tempfile.gettempdir()) / "nlp_transfer_bench_cache"))
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "startup.json")
    args = parser.parse_args()

    cfg_job = repeated([sys.executable, "train.py", "--cfg", "job"], args.repeats)
    help_run = repeated([sys.executable, "train.py", "--help"], max(1, args.repeats // 2))
    traced = run_child([sys.executable, "-X", "importtime", "train.py", "--cfg", "job"], cwd=PROJECT_ROOT)
    imports = parse_importtime(traced["stderr"])
    loaded = {row["module"].split(".")[0] for row in imports}
    heavy_on_cfg = sorted(set(HEAVY) & loaded)
    # the entry point and what it imports directly (depth ≤ 1), by cumulative time
    top = sorted((r for r in imports if r["depth"] <= 1), key=lambda r: -r["cumulative_ms"])[: args.top]
    first = first_step(args.backbone, args.first_step_repeats, args.cache_dir)

    wall = cfg_job["wall"]["median"]
    print("\nstart-up (median of fresh processes; CPU = user + system seconds)")
    print(f"{'case':44s} {'wall s':>8s} {'min':>7s} {'max':>7s} {'CPU s':>7s}")
    for case, stats in (("python train.py --cfg job", cfg_job), ("python train.py --help", help_run)):
        w, c = stats["wall"], stats["cpu"]
        print(f"{case:44s} {w['median']:8.2f} {w['min']:7.2f} {w['max']:7.2f} {c['median']:7.2f}")
    age, smoke = first["seconds_to_first_step"], first["smoke_run_wall"]
    print(f"{'first training step (' + args.backbone + ' smoke run)':44s} {age['median']:8.2f} "
          f"{age['min']:7.2f} {age['max']:7.2f}")  # fmt: skip
    print(f"{'whole smoke run':44s} {smoke['median']:8.2f} {smoke['min']:7.2f} {smoke['max']:7.2f}")
    print(f"\nheavy modules imported by --cfg job: {heavy_on_cfg or 'none'}")
    print("top imports of --cfg job (cumulative ms):")
    for row in top:
        print(f"  {row['cumulative_ms']:8.1f}  {row['module']}")
    summary = headline(
        "`train.py --cfg job` wall time", wall, "s", f"≤ {TARGET_SECONDS}", wall <= TARGET_SECONDS
    )
    verdict = "met" if summary["met"] else "MISSED"
    print(f"{summary['name']}: {wall:.2f} s (target ≤ {TARGET_SECONDS} s: {verdict})")
    write_json(
        {
            "benchmark": "start-up",
            "headline": summary,
            "cfg_job": cfg_job,
            "help": help_run,
            "first_step": first | {"backbone": args.backbone},
            "heavy_modules_on_cfg_job": heavy_on_cfg,
            "top_imports_cfg_job": top,
            "settings": vars(args) | {"out": str(args.out)},
        },
        args.out,
    )


if __name__ == "__main__":
    main()
