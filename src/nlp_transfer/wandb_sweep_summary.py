"""The sweep's report in W&B: one extra run in the sweep's group holding its tables and figures.

Each job of a multirun with `logger=wandb` is its own W&B run in the group `sweep-<sweep folder>`; the
report that ends the multirun (callbacks/sweep_report.py) is logged beside them as one more run of that
group (job type `sweep_report`): every run's row of runs.csv as the `runs` table, each task's results
tables (cross-domain, in-domain) as `results/<task>/...` tables, and the heatmaps and bar chart as images.
Like every run of the project it is offline unless the user is logged in (nlp_transfer.tracking).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

from nlp_transfer.config import sweep_group
from nlp_transfer.tracking import resolve_wandb_mode

SUMMARY_JOB_TYPE = "sweep_report"


#: columns that hold identifiers, text even when one looks like a number (a setting id is 12 hex digits,
#: sometimes all decimal: "059119408144" must not become 59119408144.0 in one row and stay text in the next)
TEXT_COLUMNS = frozenset({"setting"})


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_rows(path: Path) -> tuple[list[str], list[list[Any]]]:
    """(header, rows) of a CSV file; empty cells None. A column is numbers (floats) only when every one of
    its filled cells is one and it is no identifier column, so each W&B table column has one type."""
    with path.open(newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    numeric = [
        name not in TEXT_COLUMNS and all(_is_number(row[i]) for row in rows if i < len(row) and row[i] != "")
        for i, name in enumerate(header)
    ]
    return header, [
        [None if text == "" else float(text) if numeric[i] else text for i, text in enumerate(row)]
        for row in rows
    ]


def markdown_tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """(header, rows) of every pipe table in a markdown text, in order (separator lines dropped)."""
    tables: list[tuple[list[str], list[list[str]]]] = []
    block: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            if not line.startswith("|---"):
                block.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif block:
            tables.append((block[0], block[1:]))
            block = []
    return tables


def summary_payload(written: dict[str, list[Path]]) -> dict[str, Any]:
    """What the summary run logs, built from the report's files (`build_report`'s return value)."""
    import wandb

    payload: dict[str, Any] = {}
    for path in written.get("csv", []):
        columns, rows = csv_rows(path)
        payload["runs"] = wandb.Table(columns=columns, data=rows)
    for path in written.get("markdown", []):
        task = path.stem.removeprefix("results_")
        tables = markdown_tables(path.read_text(encoding="utf-8"))
        for name, (columns, rows) in zip(("cross_domain", "in_domain"), tables, strict=False):
            payload[f"results/{task}/{name}"] = wandb.Table(columns=columns, data=rows)
    for path in written.get("figures", []):
        payload[f"figures/{path.stem}"] = wandb.Image(str(path), caption=path.name)
    return payload


def log_sweep_summary(
    sweep_dir: Path, written: dict[str, list[Path]], project: str, mode: str = "auto"
) -> Path | None:
    """Log the sweep's report as one run of the group `sweep-<sweep folder>`, in `<sweep dir>/wandb/`;
    returns that run's folder (what `wandb sync` takes when offline).

    `mode`: as `logger.wandb.mode` (auto = online when logged in, else offline); `disabled` logs nothing.
    """
    resolved = resolve_wandb_mode(mode)
    if resolved == "disabled":
        return None
    import wandb

    os.environ.setdefault("WANDB_SILENT", "true")
    group = sweep_group(sweep_dir)
    run = wandb.init(
        project=project,
        group=group,
        job_type=SUMMARY_JOB_TYPE,
        name=f"{group}-report",
        dir=str(sweep_dir),
        mode=resolved,
        config={"sweep_dir": str(sweep_dir)},
        reinit="finish_previous",
    )
    try:
        run.log(summary_payload(written))
    finally:
        run.finish()
        # finish() can return before W&B's service has written the run file; the sweep is over, so wait
        # for it here (teardown flushes and stops the service; a later wandb.init starts a new one)
        wandb.teardown()
    return Path(run.dir).parent
