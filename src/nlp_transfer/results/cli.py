"""`nlp-transfer results <sweep dir>`: a sweep's runs as CSV, Markdown tables and figures (and `compare`,
`diagnose`: see their functions).

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
from typing import Any

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


def run_compare(sweep_dir: Path, baseline: str, resamples: int, out: Path | None) -> int:
    """`nlp-transfer compare`: print the comparison and write it (exit 2 with the reason when refused)."""
    from nlp_transfer.results.compare import CompareError, compare_markdown, compare_sweep

    try:
        results = compare_sweep(sweep_dir, baseline, resamples=resamples)
    except (CompareError, FileNotFoundError) as err:
        print(f"nlp-transfer compare: {err}", file=sys.stderr)
        return 2
    text = compare_markdown(results, baseline)
    out = out or sweep_dir / "compare.md"
    out.write_text(text, encoding="utf-8")
    print(text)
    print(f"wrote markdown: {out}")
    return 0


def add_diagnose_parser(commands: Any) -> None:
    """`nlp-transfer diagnose task=… backbone=a,b [overrides] [--against <sweep>]` (diagnostics/report.py)."""
    diagnose = commands.add_parser(
        "diagnose", help="transferability scores and domain shift per (backbone, source, target), no training"
    )
    diagnose.add_argument(
        "overrides", nargs="*", help="task=<task> backbone=<a,b,...> and any Hydra overrides"
    )
    diagnose.add_argument(
        "--out", type=Path, default=None, help="default: <paths.log_dir>/diagnostics/<task>"
    )
    diagnose.add_argument("--cap", type=int, default=None, help="examples per train split (default 2000)")
    diagnose.add_argument("--seed", type=int, default=0, help="subsampling and classifier seed")
    diagnose.add_argument(
        "--against", type=Path, default=None, help="a sweep folder: Kendall τ vs its accuracy"
    )
    diagnose.add_argument("--strategy", default="fine_tune", help="the sweep's strategy to correlate with")
    diagnose.add_argument("--no-plots", action="store_true", help="tables only")


def split_diagnose_overrides(overrides: list[str]) -> tuple[str, list[str], list[str]]:
    """(task, backbones, the other overrides); raises ValueError naming the missing `task=`."""
    task = next((o.split("=", 1)[1] for o in overrides if o.startswith("task=")), None)
    if not task:
        raise ValueError("name the task: `nlp-transfer diagnose task=sentiment backbone=minilm,mpnet,tiny`")
    listed = next((o.split("=", 1)[1] for o in overrides if o.startswith("backbone=")), "minilm")
    rest = [o for o in overrides if not o.startswith(("task=", "backbone="))]
    return task, [b for b in listed.split(",") if b], rest


def run_diagnose(args: argparse.Namespace) -> int:
    """Compute (or read from the feature cache), print and write the diagnose table; exit 2 on bad input."""
    import time

    from nlp_transfer.diagnostics.encoding import DEFAULT_CAP
    from nlp_transfer.diagnostics.report import diagnose_rows, write_against, write_report

    start = time.perf_counter()
    try:
        task, backbones, overrides = split_diagnose_overrides(args.overrides)
        rows, cfg = diagnose_rows(task, backbones, overrides, args.cap or DEFAULT_CAP, args.seed)
        out = args.out or Path(cfg.paths.log_dir) / "diagnostics" / task
        written = write_report(rows, task, out, plots=not args.no_plots)
        if args.against is not None:
            written += write_against(rows, args.against, args.strategy, task, out)
    except (ValueError, FileNotFoundError) as err:
        print(f"nlp-transfer diagnose: {err}", file=sys.stderr)
        return 2
    for path in written:
        if path.suffix == ".md":
            print(path.read_text(encoding="utf-8"))
    for path in written:
        print(f"wrote: {path}")
    print(f"diagnose took {time.perf_counter() - start:.1f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nlp-transfer", description="nlp-transfer tools")
    commands = parser.add_subparsers(dest="command", required=True)
    results = commands.add_parser("results", help="tables and figures from a sweep's results.json files")
    results.add_argument("sweep_dir", type=Path, help="a multirun folder (or any folder of runs)")
    results.add_argument("--out", type=Path, default=None, help="where to write (default: the sweep folder)")
    results.add_argument("--no-plots", action="store_true", help="tables only")
    results.add_argument(
        "--allow-incomplete", action="store_true",
        help="exit 0 even when some results.json are unreadable, incomplete or still running",
    )  # fmt: skip
    compare = commands.add_parser("compare", help="each strategy vs a baseline: paired bootstrap, Holm")
    compare.add_argument("sweep_dir", type=Path, help="a sweep whose runs wrote prediction files")
    compare.add_argument("--baseline", default="fine_tune", help="the strategy to compare against")
    compare.add_argument("--resamples", type=int, default=10_000, help="bootstrap resamples")
    compare.add_argument("--out", type=Path, default=None, help="Markdown file (default: <sweep>/compare.md)")
    add_diagnose_parser(commands)
    args, extra = parser.parse_known_args(argv)  # diagnose's overrides may follow its options
    if extra and (args.command != "diagnose" or any(item.startswith("-") for item in extra)):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "diagnose":
        args.overrides += extra
        return run_diagnose(args)
    if args.command == "compare":
        return run_compare(args.sweep_dir, args.baseline, args.resamples, args.out)
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
    if runs.incomplete and not args.allow_incomplete:
        print(
            f"nlp-transfer results: {len(runs.incomplete)} run(s) unreadable, incomplete or running (listed "
            "above), so the tables lack their cells; rerun them, or pass --allow-incomplete.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
