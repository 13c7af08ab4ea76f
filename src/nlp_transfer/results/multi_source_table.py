"""The multi-source table: per target, the best single source beside pooled sources and multi-source DA.

For every target that some run reached from pooled sources (`config.source` = `books+dvd+electronics`,
e.g. a leave-one-domain-out sweep, `experiment=leave_one_out`), one column; rows:

* `<strategy> · pooled sources`: the runs from those pooled sources (fine_tune on the pooled data,
  dann_multi_source, …);
* `<strategy> · best single source (source val)`: among that strategy's single-source runs s → t with s
  one of the pooled sources, the source whose run has the highest mean **source-validation** headline
  metric. Label-free, so a real user could make this choice; but each run is validated on its own source,
  so it compares different validation sets;
* `<strategy> · best single source (oracle)`: the source with the highest mean **target-test** score, an
  upper bound no real user could pick (it reads target labels).

The chosen source is named in each cell. Mean ± 95 % t-interval over seeds as in the main table.
"""

from __future__ import annotations

import statistics
from collections import defaultdict

from nlp_transfer.results.collect import RunRow
from nlp_transfer.results.tables import Cell, _average, row_label
from nlp_transfer.source_domains import is_multi_source, source_list


def _best_single(
    cells: dict[str, Cell], runs: dict[str, list[RunRow]], by: str, headline: str
) -> tuple[str, Cell] | None:
    """The (source, cell) whose runs score highest: `by` = `source_val` or `oracle` (target test)."""

    def score(source: str) -> float:
        if by == "oracle":
            return cells[source].mean  # type: ignore[return-value]
        values = [r.metrics.get(f"source/val/{headline}") for r in runs[source] if r.status == "ok"]
        return statistics.fmean(v for v in values if v is not None)

    usable = [s for s in cells if cells[s].mean is not None]
    if by == "source_val":
        usable = [
            s for s in usable if any(r.metrics.get(f"source/val/{headline}") is not None for r in runs[s])
        ]
    return (best := max(usable, key=score), cells[best]) if usable else None


def multi_source_grid(
    rows: list[RunRow], task: str
) -> tuple[list[str], dict[tuple[str, str], tuple[str, Cell]]]:
    """(targets, {(row label, target): (chosen source or '', cell)}) for one task's multi-source table."""
    task_rows = [r for r in rows if r.task == task]
    backbones = {r.backbone for r in task_rows}
    pooled: dict[tuple[str, str, str], list[RunRow]] = defaultdict(list)
    single: dict[tuple[str, str], dict[str, list[RunRow]]] = defaultdict(lambda: defaultdict(list))
    for r in task_rows:
        if r.target in source_list(r.source):  # in-domain: a pooled run tested on one of its own sources
            continue
        if is_multi_source(r.source):
            pooled[(row_label(r, backbones), r.source, r.target)].append(r)
        else:
            single[(row_label(r, backbones), r.target)][r.source].append(r)
    declared = next((r.domains for r in task_rows if r.domains), ())
    reached = {target for _, _, target in pooled}
    targets = [d for d in declared if d in reached] + sorted(reached - set(declared))
    grid: dict[tuple[str, str], tuple[str, Cell]] = {}
    headline = next((r.headline for r in task_rows), "acc")
    for (label, source, target), runs in pooled.items():
        grid[(f"{label} · pooled sources", target)] = ("", Cell(runs))
        for (single_label, single_target), by_source in single.items():
            if single_target != target:
                continue
            runs_of = {s: by_source[s] for s in source_list(source) if s in by_source}
            cells = {s: Cell(r) for s, r in runs_of.items()}
            for by, name in (("source_val", "source val"), ("oracle", "oracle")):
                if chosen := _best_single(cells, runs_of, by, headline):
                    grid[(f"{single_label} · best single source ({name})", target)] = chosen
    return targets, grid


def multi_source_markdown(rows: list[RunRow], task: str, most_seeds: int) -> str:
    """The multi-source table (empty string when no run pooled several sources)."""
    targets, grid = multi_source_grid(rows, task)
    if not targets:
        return ""
    labels = sorted({label for label, _ in grid}, key=lambda lab: ("pooled" in lab, lab))
    lines = [
        "",
        "Multi-source (each target reached from pooled sources; the chosen single source in brackets):",
        "",
    ]
    lines.append("| strategy | " + " | ".join(f"→ {t}" for t in targets) + " | average |")
    lines.append("|---" * (len(targets) + 2) + "|")
    for label in labels:
        entries = [grid.get((label, t)) for t in targets]
        texts = [
            "—" if e is None else e[1].text(most_seeds) + (f" [{e[0]}]" if e[0] else "") for e in entries
        ]
        average = _average([e[1] if e else None for e in entries], most_seeds)
        lines.append(f"| {label} | " + " | ".join(texts) + f" | {average} |")
    lines += [
        "",
        "`pooled sources`: trained on all the target's sources at once (`domain.source=[...]`). `best single "
        "source (source val)`: the single-source run with the best source-validation score (label-free; each "
        "run validates on its own source). `(oracle)`: the one with the best target-test score, an upper "
        "bound that reads target labels.",
    ]
    return "\n".join(lines) + "\n"
