"""`nlp-transfer results <sweep dir>`: a sweep's runs as CSV, Markdown tables and figures.

Strict by default: a run whose results.json is unreadable, incomplete or still `running` is listed (and
written to incomplete_runs.csv) and the command exits 1, so a table that silently lacks cells never passes
for complete; `--allow-incomplete` accepts it. Failed runs are complete records of a failure: they show as
`failed` cells, are listed, and do not change the exit code (the sweep's own exit status reports them).
Fast on purpose: no torch or Lightning is imported here.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from nlp_transfer.results.collect import IncompleteRun, RunCollection, collect
from nlp_transfer.results.tables import markdown_table, write_csv

INCOMPLETE_CSV = "incomplete_runs.csv"


def write_incomplete(incomplete: list[IncompleteRun], out_dir: Path) -> list[Path]:
    """incomplete_runs.csv (path, status, problem) when there are such runs; a stale one is removed."""
    path = out_dir / INCOMPLETE_CSV
    if not incomplete:
        path.unlink(missing_ok=True)
        return []
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "status", "problem"])
        writer.writerows([str(run.path), run.status, run.problem] for run in incomplete)
    return [path]


def build_report(
    sweep_dir: Path, out_dir: Path | None = None, plots: bool = True, runs: RunCollection | None = None
) -> dict[str, list[Path]]:
    """Write runs.csv, results_<task>.md, the figures and incomplete_runs.csv; returns the files per kind.

    Only complete records make rows, so an incomplete one never yields a `results_?.md`. `runs`: the
    collection of `sweep_dir` when the caller already has it (to list its incomplete runs).
    """
    runs = runs or collect(sweep_dir)
    rows = runs.rows
    if not rows and not runs.incomplete:
        raise FileNotFoundError(f"No results.json under {sweep_dir}: is it a run or sweep folder?")
    out_dir = out_dir or sweep_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, list[Path]] = {
        "csv": [write_csv(rows, out_dir / "runs.csv")] if rows else [],
        "markdown": [],
        "figures": [],
        "incomplete": write_incomplete(runs.incomplete, out_dir),
    }
    for task in sorted({r.task for r in rows}):
        path = out_dir / f"results_{task}.md"
        path.write_text(markdown_table(rows, task), encoding="utf-8")
        written["markdown"].append(path)
        if plots:
            from nlp_transfer.results.plots import heatmaps, strategy_bars

            written["figures"] += heatmaps(rows, task, out_dir) + [strategy_bars(rows, task, out_dir)]
    return written


def run_listing(runs: RunCollection) -> list[str]:
    """Lines naming every incomplete and failed run, for the report printed by the command."""
    lines = []
    if runs.incomplete:
        lines.append(f"{len(runs.incomplete)} run(s) not in the tables (unreadable, incomplete or running):")
        lines += [f"  {run.status}: {run.path}: {run.problem}" for run in runs.incomplete]
    failed = {row.evaluated_from or row.path: row.error for row in runs.rows if row.status == "failed"}
    if failed:
        lines.append(f"{len(failed)} failed run(s), shown as `failed` cells:")
        lines += [f"  failed: {path}: {(error or '')[:300]}" for path, error in failed.items()]
    return lines


def against_reference(runs: RunCollection, path: Path) -> int:
    """Print the reference's published rows and this sweep's drift from the committed runs; 1 if drifted."""
    from nlp_transfer.results.reference import (
        ReferenceError,
        committed_scores,
        drift,
        drift_markdown,
        load_reference,
        published_markdown,
    )  # fmt: skip

    try:
        reference = load_reference(path)
    except ReferenceError as err:
        print(f"nlp-transfer results: {err}", file=sys.stderr)
        return 2
    drifts = drift(runs.rows, committed_scores(reference["committed"], reference["task"]))
    print(published_markdown(reference))
    print(drift_markdown(drifts))
    moved = [d for d in drifts if d.drifted]
    if moved:
        print(f"nlp-transfer results: {len(moved)} cell(s) moved beyond seed noise since the committed runs "
              f"of {path} (marked DRIFTED above).", file=sys.stderr)  # fmt: skip
        return 1
    return 0


HELP = "tables and figures from a sweep's results.json files"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sweep_dir", type=Path, help="a multirun folder (or any folder of runs)")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: the sweep folder)")
    parser.add_argument("--no-plots", action="store_true", help="tables only")
    parser.add_argument(
        "--allow-incomplete", action="store_true",
        help="exit 0 even when some results.json are unreadable, incomplete or still running",
    )  # fmt: skip
    parser.add_argument(
        "--against", type=Path, default=None,
        help="a reference file (benchmarks/reference/*.yaml): published rows beside ours, and exit 1 when a "
        "cell moved beyond seed noise since the project's committed runs",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    try:
        runs = collect(args.sweep_dir)
        written = build_report(args.sweep_dir, args.out, plots=not args.no_plots, runs=runs)
    except FileNotFoundError as err:
        print(f"nlp-transfer results: {err}", file=sys.stderr)
        return 2
    for path in written["markdown"]:
        print(path.read_text(encoding="utf-8"))
    for line in run_listing(runs):
        print(line)
    for kind, paths in written.items():
        for path in paths:
            print(f"wrote {kind}: {path}")
    if args.against is not None and against_reference(runs, args.against) != 0:
        return 1
    if runs.incomplete and not args.allow_incomplete:
        print(
            f"nlp-transfer results: {len(runs.incomplete)} run(s) unreadable, incomplete or running (listed "
            "above), so the tables lack their cells; rerun them, or pass --allow-incomplete.",
            file=sys.stderr,
        )
        return 1
    return 0
