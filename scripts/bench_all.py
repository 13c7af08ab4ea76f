"""Run every benchmark of issue 7 and write one summary table.

    python scripts/bench_all.py [--out-dir benchmarks/results] [--quick] [--only overhead,startup]

Runs, one after another in fresh processes: framework overhead, batching, feature cache, DANN step,
start-up and peak memory, with settings small enough to finish in under 15 minutes on 2 idle CPU
cores (`--quick` halves the work for a busy machine). Each writes `<out-dir>/<name>.json`; then
`<out-dir>/summary.md` tabulates each headline number against its target, with the machine it ran on.
A benchmark that fails or whose script is missing is a row saying so; the others still run. With
`--only`, the other rows of an earlier `summary.json` in the same folder are kept.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from nlp_transfer.benchmarking import RESULTS_DIR, machine, run_child

SCRIPTS = Path(__file__).resolve().parent

#: name → (script, arguments, arguments with --quick); each script also gets `--out <out-dir>/<name>.json`
BENCHMARKS: dict[str, tuple[str, list[str], list[str]]] = {
    "overhead": (
        "bench_overhead.py",
        ["--steps", "6", "--warmup", "2", "--repeats", "3"],
        ["--steps", "3", "--warmup", "1", "--repeats", "3", "--batch-size", "16"],
    ),
    "batching": (
        "bench_batching.py",
        ["--batches", "4", "--repeats", "3"],
        ["--batches", "2", "--repeats", "2"],
    ),
    "feature_cache": ("bench_feature_cache.py", [], []),
    "dann_step": (
        "bench_dann_step.py",
        ["--steps", "4", "--repeats", "3"],
        ["--steps", "2", "--repeats", "2"],
    ),
    "startup": ("bench_startup.py", ["--repeats", "5"], ["--repeats", "3", "--first-step-repeats", "1"]),
    "memory": ("bench_memory.py", ["--steps", "3"], ["--steps", "2"]),
}


def run_benchmark(name: str, out_dir: Path, quick: bool, timeout: float) -> dict:
    """Run one benchmark script; return its row: headline, seconds taken, status."""
    script, args, quick_args = BENCHMARKS[name]
    path, out = SCRIPTS / script, out_dir / f"{name}.json"
    if not path.is_file():
        return {"name": name, "status": f"missing: {path.relative_to(SCRIPTS.parent)} does not exist yet"}
    print(f"\n=== {name}: {script} {' '.join(quick_args if quick else args)}", flush=True)
    out.unlink(missing_ok=True)
    run = run_child(
        [sys.executable, str(path), *(quick_args if quick else args), "--out", str(out)], timeout=timeout
    )
    (out_dir / f"{name}.log").write_text(run["stdout"] + run["stderr"])
    row = {"name": name, "seconds": run["wall_seconds"], "json": out.name}
    print(run["stdout"][-1500:], flush=True)
    if run["returncode"] != 0 or not out.is_file():
        tail = (run["stderr"].strip().splitlines() or ["no output"])[-1]
        return row | {"status": f"failed (exit {run['returncode']}): {tail[:200]}; see {name}.log"}
    result = json.loads(out.read_text())
    return row | {"status": "ok", "headline": result.get("headline")}


def format_value(headline: dict) -> str:
    value = headline.get("value")
    if value is None:
        return "n/a"
    return f"{value:.0f} {headline['unit']}" if abs(value) >= 100 else f"{value:.2f} {headline['unit']}"


def summary_markdown(rows: list[dict], host: dict, total_seconds: float, quick: bool) -> str:
    """The table the README quotes: benchmark, measured value, target, met?, time taken."""
    gpu = f", GPU {host['gpu']}" if host.get("gpu") else ", no GPU"
    lines = [
        "# Benchmarks (issue 7)",
        "",
        f"Machine: {host['cpu']}, {host['cores']} cores usable, torch {host['torch']} "
        f"({host['torch_threads']} threads){gpu}, Python {host['python']}; {host['date']}.",
        f"Command: `python scripts/bench_all.py{' --quick' if quick else ''}`; "
        f"total {total_seconds / 60:.1f} min. "
        "Ratios are measured within one run; absolute times depend on the machine's load.",
        "",
        "| benchmark | measured | target | met? | time (s) |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        seconds = f"{row['seconds']:.0f}" if "seconds" in row else ""
        headline = row.get("headline")
        if row["status"] != "ok" or not headline:
            status = row["status"] if row["status"] != "ok" else "ok, but its JSON has no `headline`"
            lines.append(f"| {row['name']} | {status} | | | {seconds} |")
            continue
        met = {True: "yes", False: "**no**", None: "n/a"}[headline.get("met")]
        measured = format_value(headline)
        lines.append(
            f"| {row['name']}: {headline['name']} | {measured} | {headline['target']} | {met} | {seconds} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--quick", action="store_true", help="fewer steps and repeats, for a busy machine")
    parser.add_argument(
        "--only", default=",".join(BENCHMARKS), help=f"comma-separated subset of {list(BENCHMARKS)}"
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds allowed per benchmark")
    args = parser.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown or not names:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    # rows of benchmarks not run now are kept from an earlier summary, so `--only` updates a table
    previous = args.out_dir / "summary.json"
    kept = {row["name"]: row for row in json.loads(previous.read_text())} if previous.is_file() else {}
    start, host = time.perf_counter(), machine()
    for name in names:  # the summary is rewritten after each benchmark: an interrupted suite keeps its rows
        kept[name] = run_benchmark(name, args.out_dir, args.quick, args.timeout)
        rows = [kept[n] for n in BENCHMARKS if n in kept]
        text = summary_markdown(rows, host, time.perf_counter() - start, args.quick)
        (args.out_dir / "summary.md").write_text(text)
        (args.out_dir / "summary.json").write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    print("\n" + text)
    print(f"wrote {args.out_dir / 'summary.md'}")


if __name__ == "__main__":
    main()
