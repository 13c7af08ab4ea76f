"""Run every speed benchmark (issues 7 and 14) one after another and write one summary table.

    python scripts/bench_all.py [--out-dir benchmarks/results] [--quick | --smoke] [--only precision,startup]

Each benchmark runs in a fresh process, never two at once, and writes `<out-dir>/<name>.json`; after
each one `<out-dir>/summary.md` is rewritten: one row per target (threshold, the median measured and the
ratio to the baseline measured in the same run, met or missed, the command that measured it), under the
machine's facts (CPU, bf16 flags, torch, threads). A benchmark that fails or whose script is missing is a
row saying so; the others still run. With `--only`, the rows of the other benchmarks come from their
JSON files already in `<out-dir>` (each row names the date it was measured). `--quick` runs fewer steps
(a busy machine); `--smoke` runs the benchmarks that have a tiny-backbone mode, to check the machinery
(its numbers mean nothing).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench_targets import TARGETS

from nlp_transfer.benchmarking import RESULTS_DIR, machine, run_child

SCRIPTS = Path(__file__).resolve().parent
TINY_EVAL = [
    "--backbone",
    "tiny",
    "--repeats",
    "1",
    "--steps",
    "1",
    "--length",
    "64",
    "--eval-examples",
    "80",
]

#: name → (script, arguments, arguments with --quick, arguments with --smoke or None: no tiny mode);
#: each script also gets `--out <out-dir>/<name>.json`. Listed in the order they run.
BENCHMARKS: dict[str, tuple[str, list[str], list[str], list[str] | None]] = {
    "startup": (
        "bench_startup.py", ["--repeats", "5"], ["--repeats", "3", "--first-step-repeats", "1"],
        ["--repeats", "1", "--first-step-repeats", "1"],
    ),
    "precision": ("bench_precision_eval.py", ["--repeats", "5"], ["--quick"], TINY_EVAL),
    "inference_parts": (
        "bench_inference_parts.py", ["--repeats", "5"], ["--repeats", "2"],
        ["--backbone", "tiny", "--repeats", "1", "--steps", "1", "--length", "64"],
    ),
    "attention_dropout": (
        "bench_attention_dropout.py", ["--repeats", "5"], ["--repeats", "2", "--steps", "1"],
        ["--backbone", "tiny", "--repeats", "1", "--steps", "1"],
    ),
    "optimizer_step": (
        "bench_optimizer_step.py", ["--repeats", "5"], ["--repeats", "2", "--steps", "1"],
        ["--backbone", "tiny", "--repeats", "1", "--steps", "1"],
    ),
    "overhead": (
        "bench_overhead.py", ["--steps", "6", "--warmup", "2", "--repeats", "3"],
        ["--steps", "3", "--warmup", "1", "--repeats", "2"],
        ["--backbone", "tiny", "--steps", "1", "--warmup", "1", "--repeats", "1", "task.max_length=64"],
    ),
    "memory": ("bench_memory.py", ["--steps", "3"], ["--steps", "2"], None),  # tiny has no checkpointing
    "multirun_first_step": (
        "bench_multirun_first_step.py", ["--jobs", "3"], ["--jobs", "3"],
        ["--jobs", "2", "--backbone", "tiny"],
    ),
    "compile": (
        "bench_compile.py", ["--steps", "4", "--repeats", "3"], ["--steps", "2", "--repeats", "2"],
        ["--backbone", "tiny", "--steps", "1", "--repeats", "1", "--length", "32", "--backend", "aot_eager"],
    ),
    "batching": (
        "bench_batching.py", ["--batches", "4", "--repeats", "3"], ["--batches", "2", "--repeats", "2"], None,
    ),
    "feature_cache": ("bench_feature_cache.py", [], [], None),
    "dann_step": (
        "bench_dann_step.py", ["--steps", "4", "--repeats", "3"], ["--steps", "2", "--repeats", "2"], None,
    ),
    "end_to_end": ("bench_end_to_end.py", [], [], ["--quick"]),
    "sweep_workers": ("bench_sweep_workers.py", [], [], ["--quick"]),
}  # fmt: skip


def arguments_for(name: str, mode: str) -> list[str] | None:
    """The script's arguments in `mode` (full, quick, smoke); None: it has no such mode."""
    _, full, quick, smoke = BENCHMARKS[name]
    return {"full": full, "quick": quick, "smoke": smoke}[mode]


def run_benchmark(name: str, out_dir: Path, mode: str, timeout: float) -> dict:
    """Run one benchmark script; return its row: command, seconds taken, status."""
    script, arguments = BENCHMARKS[name][0], arguments_for(name, mode)
    path, out = SCRIPTS / script, out_dir / f"{name}.json"
    command = f"python scripts/{script} {' '.join(arguments or [])}".strip()
    row = {"name": name, "command": command, "json": out.name}
    if not path.is_file():
        return row | {"status": f"missing: scripts/{script} does not exist yet"}
    if arguments is None:
        return row | {"status": f"not run: {script} has no {mode} mode"}
    print(f"\n=== {name}: {command}", flush=True)
    out.unlink(missing_ok=True)
    run = run_child([sys.executable, str(path), *arguments, "--out", str(out)], timeout=timeout)
    (out_dir / f"{name}.log").write_text(run["stdout"] + run["stderr"])
    row["seconds"] = run["wall_seconds"]
    print(run["stdout"][-1500:], flush=True)
    if run["returncode"] != 0 or not out.is_file():
        tail = (run["stderr"].strip().splitlines() or ["no output"])[-1]
        return row | {"status": f"failed (exit {run['returncode']}): {tail[:200]}; see {name}.log"}
    return row | {"status": "ok"}


def target_rows(rows: dict[str, dict], out_dir: Path) -> list[dict[str, Any]]:
    """One row per target: what its benchmark's JSON says, or why there is no number."""
    table = []
    for target in TARGETS:
        path = out_dir / f"{target.bench}.json"
        found = {"status": "ok" if path.is_file() else "not run yet"}  # a JSON from before this summary
        row = rows.get(target.bench, found)
        entry = {"target": target.name, "threshold": target.threshold, "command": row.get("command", "")}
        if row["status"] != "ok" or not path.is_file():
            table.append(entry | {"measured": row["status"], "met": None})
            continue
        result = json.loads(path.read_text())
        try:
            measured, met = target.extract(result)
        except (KeyError, TypeError, ZeroDivisionError) as error:
            measured, met = f"{path.name} lacks {error} (written by an older script?)", None
        date = (result.get("machine") or {}).get("date", "")[:10]
        table.append(entry | {"measured": f"{measured} ({date})" if date else measured, "met": met})
    return table


def host_facts() -> dict[str, Any]:
    """machine() plus what decides the speed of bf16 on a CPU and the thread settings."""
    from nlp_transfer.precision import cpu_flags, resolve_precision

    flags = cpu_flags()
    host = machine()
    host["cpu_flags"] = {flag: flag in flags for flag in ("avx512_bf16", "amx_bf16", "amx_tile", "avx512f")}
    host["auto_precision"] = resolve_precision("cpu")
    host["thread_env"] = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    return host


def summary_markdown(table: list[dict], host: dict, total_seconds: float, invocation: str, mode: str) -> str:
    """The table the README quotes: target, threshold, measured, met or missed, command."""
    flags = ", ".join(f"{flag} {'yes' if present else 'no'}" for flag, present in host["cpu_flags"].items())
    gpu = f", GPU {host['gpu']}" if host.get("gpu") else ", no GPU"
    lines = [
        "# Speed benchmarks (issues 7 and 14)",
        "",
        f"Machine: {host['cpu']}, {host['cores']} cores usable ({flags}; auto precision "
        f"{host['auto_precision']}), torch {host['torch']} ({host['torch_threads']} threads; "
        f"OMP_NUM_THREADS={host['thread_env']['OMP_NUM_THREADS']}){gpu}, Python {host['python']}; "
        f"{host['date']}.",
        (
            f"Command: `{invocation}`; this invocation took {total_seconds / 60:.1f} min."
            if mode != "render"
            else f"Command: `{invocation}`: the table rebuilt from the JSON in this folder, each row dated."
        )
        + " Ratios are medians measured within one run (baseline and candidate interleaved); absolute times"
        " depend on the load."
        + (" **Smoke run: tiny backbone, its numbers mean nothing.**" if mode == "smoke" else ""),
        "",
        "| target | threshold | measured (median; ratio vs baseline of the same run) | met? | command |",
        "|---|---|---|---|---|",
    ]
    verdicts = {True: "met", False: "**missed**", None: "n/a"}
    for row in table:
        command = f"`{row['command']}`" if row["command"] else ""
        cells = [row["target"], row["threshold"], row["measured"], verdicts[row["met"]], command]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument("--quick", action="store_true", help="fewer steps and repeats, for a busy machine")
    modes.add_argument("--smoke", action="store_true", help="tiny backbone where a bench has it: checks only")
    parser.add_argument(
        "--only", default=",".join(BENCHMARKS), help=f"comma-separated subset of {list(BENCHMARKS)}"
    )
    parser.add_argument("--timeout", type=float, default=7200, help="seconds allowed per benchmark")
    parser.add_argument("--render", action="store_true", help="run nothing: rebuild the table from the JSON")
    args = parser.parse_args()
    args.names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown or not args.names:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}")
    args.mode = "render" if args.render else "smoke" if args.smoke else "quick" if args.quick else "full"
    return args


def main() -> None:
    args = parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    previous = args.out_dir / "summary.json"
    kept = json.loads(previous.read_text()) if previous.is_file() else {}
    if isinstance(kept, list):  # the issue-7 summary: a list of rows
        kept = {"benchmarks": {row["name"]: row for row in kept}}
    kept = {name: row for name, row in kept.get("benchmarks", {}).items() if name in BENCHMARKS}
    start, host = time.perf_counter(), host_facts()
    invocation = ("python scripts/bench_all.py " + " ".join(sys.argv[1:])).strip()
    for name in [] if args.render else args.names:
        kept[name] = run_benchmark(name, args.out_dir, args.mode, args.timeout)
        # rewritten after each benchmark: an interrupted suite keeps the rows it has
        write_summary(args, kept, host, time.perf_counter() - start, invocation)
    if args.render:
        write_summary(args, kept, host, 0.0, invocation)
    print("\n" + (args.out_dir / "summary.md").read_text())
    print(f"wrote {args.out_dir / 'summary.md'}")


def write_summary(args: argparse.Namespace, kept: dict, host: dict, seconds: float, invocation: str) -> None:
    """summary.md (the table) and summary.json (rows per benchmark, the targets, the machine)."""
    table = target_rows(kept, args.out_dir)
    (args.out_dir / "summary.md").write_text(summary_markdown(table, host, seconds, invocation, args.mode))
    summary = {"machine": host, "invocation": invocation, "benchmarks": kept, "targets": table}
    (args.out_dir / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
