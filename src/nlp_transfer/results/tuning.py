"""A default chosen by evidence: one strategy's settings ranked on source validation, and the rule applied.

For sweeps such as conf/experiment/tune_lora.yaml and tune_da_weights.yaml, which run one strategy in several
settings (a learning rate, a loss weight) on development pairs. Runs of one (task, strategy, backbone) are
grouped by setting (results/setting.py: the keys in which the runs differ, e.g. `strategy.r`); each setting
is scored by its **source-validation** metric at the run's chosen checkpoint, averaged over seeds per training
cell (source → target) and then over cells. Rule, fixed before any run: the best-scoring setting replaces the
strategy's current default only if its score beats the default's by at least `margin` (one point by default:
with one seed, smaller differences are noise), and only a setting with every cell can be chosen. The target
test metric is shown for the record and never enters the choice (the issue's honesty rule).
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nlp_transfer.results.collect import RunRow
from nlp_transfer.results.setting import Setting, differing_keys, label, unlabelled

#: `default_of(strategy, keys)`: the value (JSON text) each key has when `python train.py strategy=<s>` runs
DefaultLookup = Callable[[str, list[str]], dict[str, str]]
MARGIN = 0.01


@dataclass(frozen=True)
class SettingScore:
    """One setting of a strategy: its values, per-cell means over seeds, and whether it is the default."""

    label: str
    values: dict[str, str]  # differing key → JSON text of the value
    source_val: dict[str, float]  # cell ("books → dvd") → mean source-validation metric over seeds
    target: dict[str, float]  # cell → mean target test metric over seeds (for the record only)
    seeds: int  # the fewest seeds any of its cells has
    is_default: bool

    def mean_source_val(self, cells: list[str]) -> float:
        """Mean over `cells`; nan when the setting lacks one of them (it cannot be chosen then)."""
        return _mean([self.source_val.get(cell, math.nan) for cell in cells])

    def mean_target(self, cells: list[str]) -> float:
        return _mean([self.target.get(cell, math.nan) for cell in cells])


@dataclass(frozen=True)
class Tuning:
    """The settings of one (task, strategy, backbone), best first, and the rule's outcome."""

    task: str
    strategy: str
    backbone: str
    keys: list[str]
    cells: list[str]
    settings: list[SettingScore]
    chosen: SettingScore | None
    reason: str


def _mean(values: list[float]) -> float:
    return math.fsum(values) / len(values) if values and not any(math.isnan(v) for v in values) else math.nan


def _cell(row: RunRow) -> str:
    """The training cell a row belongs to: its pair, or `source → all` for a run tested on every domain."""
    return f"{row.source} → all" if row.evaluated_from is not None else f"{row.source} → {row.target}"


def tune(rows: list[RunRow], default_of: DefaultLookup, margin: float = MARGIN) -> list[Tuning]:
    """Apply the rule to every (task, strategy, backbone) of `rows` that was run in several settings.

    `rows`: as `collect_runs` gives them (failed runs and rows without a known setting are left out).
    """
    groups: dict[tuple[str, str, str], list[RunRow]] = defaultdict(list)
    for row in rows:
        if row.status == "ok" and row.setting is not None:
            groups[(row.task, unlabelled(row.strategy), row.backbone)].append(row)
    tunings = []
    for (task, strategy, backbone), members in sorted(groups.items()):
        settings = {row.setting_id: row.setting for row in members}  # one entry per setting
        keys = differing_keys(list(settings.values()))
        if not keys:
            continue  # one setting: nothing to choose
        defaults = default_of(strategy, keys)
        scored = [_score(setting, keys, members, defaults) for setting in settings.values()]
        cells = sorted({cell for s in scored for cell in s.source_val})
        scored.sort(key=lambda s: (math.isnan(s.mean_source_val(cells)), -_or(s.mean_source_val(cells))))
        chosen, reason = _rule(scored, cells, margin)
        tunings.append(Tuning(task, strategy, backbone, keys, cells, scored, chosen, reason))
    return tunings


def _or(value: float, fallback: float = -math.inf) -> float:
    return fallback if math.isnan(value) else value


def _score(setting: Setting, keys: list[str], rows: list[RunRow], defaults: dict[str, str]) -> SettingScore:
    mine = [row for row in rows if row.setting == setting]
    per_cell: dict[str, dict[int | None, tuple[float | None, list[float]]]] = defaultdict(dict)
    for row in mine:  # one entry per (cell, seed): an all-domains run's rows share their source val
        val = row.metrics.get(f"source/val/{row.headline}")
        _, targets = per_cell[_cell(row)].setdefault(row.seed, (val, []))
        if row.target_score is not None and (row.evaluated_from is None or row.target != row.source):
            targets.append(row.target_score)  # an all-domains run: the mean over its cross-domain test splits
    source_val = {c: _mean([v for v, _ in s.values() if v is not None]) for c, s in per_cell.items()}
    target = {c: _mean([_mean(t) for _, t in s.values() if t]) for c, s in per_cell.items()}
    values = {key: setting[key] for key in keys}
    return SettingScore(
        label=label(setting, keys),
        values=values,
        source_val={c: v for c, v in source_val.items() if not math.isnan(v)},
        target={c: v for c, v in target.items() if not math.isnan(v)},
        seeds=min(len(s) for s in per_cell.values()),
        is_default=all(defaults.get(key) == value for key, value in values.items()),
    )


def _rule(settings: list[SettingScore], cells: list[str], margin: float) -> tuple[SettingScore | None, str]:
    complete = [s for s in settings if not math.isnan(s.mean_source_val(cells))]
    if not complete:
        return None, "no setting has a source-validation score on every cell: nothing chosen"
    best = complete[0]
    default = next((s for s in settings if s.is_default), None)
    if default is None:
        return best, "the current default is not in the sweep: the best setting on source validation"
    if math.isnan(default.mean_source_val(cells)):
        return best, "the current default lacks a cell: the best complete setting on source validation"
    gain = best.mean_source_val(cells) - default.mean_source_val(cells)
    if best is default:
        return default, "the current default scores best on source validation: kept"
    if gain >= margin:
        return (
            best,
            f"beats the current default by {gain:+.4f} on source validation (≥ {margin:g}): replaces it",
        )
    return default, (
        f"the best other setting ({best.label}) beats the current default by only {gain:+.4f} on source "
        f"validation (< {margin:g}): the default is kept"
    )


def tuning_markdown(tunings: list[Tuning], margin: float = MARGIN) -> str:
    """One table per strategy: settings best first, per-cell source validation, the means, the choice."""
    lines = [
        "# Defaults chosen on source validation",
        "",
        f"Each setting's source-validation score at its runs' chosen checkpoints (mean over seeds per cell, "
        f"then over cells); a setting replaces the current default only if it beats it by ≥ {margin:g}, and "
        "only a setting with every cell can be chosen. Target test: for the record, never used to choose.",
    ]
    for t in tunings:
        lines += ["", f"## {t.strategy} ({t.task}, {t.backbone}): {', '.join(t.keys)}", ""]
        lines.append(
            "| setting | " + " | ".join(t.cells) + " | source val (mean) | target test (record) | seeds |"
        )
        lines.append("|---" * (len(t.cells) + 4) + "|")
        for s in t.settings:
            name = s.label + (" (default)" if s.is_default else "") + (" **chosen**" if s is t.chosen else "")
            cells = [_fmt(s.source_val.get(cell, math.nan)) for cell in t.cells]
            means = [_fmt(s.mean_source_val(t.cells)), _fmt(s.mean_target(t.cells))]
            lines.append(f"| {name} | " + " | ".join([*cells, *means, str(s.seeds)]) + " |")
        chosen = t.chosen.label if t.chosen is not None else "none"
        lines += ["", f"Chosen: {chosen} — {t.reason}."]
    return "\n".join(lines) + "\n"


def _fmt(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.4f}"


def write_tuning(tunings: list[Tuning], out_dir: Path, margin: float = MARGIN) -> list[Path]:
    """`tuning.md` and `tuning.csv` (one row per strategy, setting and cell) in `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    markdown, table = out_dir / "tuning.md", out_dir / "tuning.csv"
    markdown.write_text(tuning_markdown(tunings, margin), encoding="utf-8")
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["task", "strategy", "backbone", "setting", "default", "chosen", "cell",
                         "source_val", "target_test", "seeds"])  # fmt: skip
        for t in tunings:
            for s in t.settings:
                for cell in t.cells:
                    scores = [s.source_val.get(cell, ""), s.target.get(cell, ""), s.seeds]
                    writer.writerow(
                        [t.task, t.strategy, t.backbone, s.label, s.is_default, s is t.chosen, cell, *scores]
                    )
    return [markdown, table]
