"""`nlp-transfer diagnose`: encode every domain once per backbone, score every pair, write table and figure.

    nlp-transfer diagnose task=sentiment backbone=minilm,mpnet,tiny [hydra overrides] [--against <sweep>]

Each backbone's config is composed as `train.py` would compose it (so `task.max_length`, `paths.cache_dir`
and the data location are the usual overrides); nothing is trained. Writes `diagnose_<task>.csv`, `.md`
and `.png` (and, with `--against`, `against_<task>.csv`/`.md`) into `--out`
(default `<paths.log_dir>/diagnostics/<task>`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def compose(task: str, backbone: str, overrides: list[str]) -> Any:
    """The training config for `task` and `backbone` with the user's overrides (Hydra's compose API)."""
    from nlp_transfer.config import compose_train

    cfg = compose_train([f"task={task}", f"backbone={backbone}", *overrides])
    if str(cfg.task.get("_target_", "")).rsplit(".", 1)[-1] != "ClassificationDataModule":
        raise ValueError(
            f"nlp-transfer diagnose scores text classification tasks (one label per text); task={task} "
            "is not one. Choose task=sentiment, emotion or topic."
        )
    return cfg


def backbone_features(cfg: Any, cap: int, seed: int) -> dict:
    """domain → DomainFeatures of one backbone, the encoder loaded only if some domain is not cached."""
    from nlp_transfer.assembly import instantiate
    from nlp_transfer.diagnostics.encoding import domain_features

    built: list[Any] = []

    def encoder() -> Any:
        if not built:
            built.append(instantiate(cfg.backbone.encoder))
        return built[0]

    tokenizer = instantiate(cfg.backbone.tokenizer)
    return {d: domain_features(cfg, d, cap, seed, tokenizer, encoder) for d in cfg.task.domains}


def diagnose_rows(
    task: str, backbones: list[str], overrides: list[str], cap: int, seed: int
) -> tuple[list, Any]:
    """Every (backbone, source, target) row, and the last composed config (for its paths)."""
    from nlp_transfer.diagnostics.table import backbone_rows

    rows, cfg = [], None
    for backbone in backbones:
        cfg = compose(task, backbone, overrides)
        features = backbone_features(cfg, cap, seed)
        rows += backbone_rows(backbone, features, classes=len(cfg.task.labels), seed=seed)
    return rows, cfg


def write_report(rows: list[dict], task: str, out_dir: Path, plots: bool = True) -> list[Path]:
    """diagnose_<task>.csv, .md and (with plots) .png in `out_dir`."""
    from nlp_transfer.diagnostics.table import markdown_table, write_table_csv

    out_dir.mkdir(parents=True, exist_ok=True)
    written = [write_table_csv(rows, out_dir / f"diagnose_{task}.csv")]
    markdown = out_dir / f"diagnose_{task}.md"
    markdown.write_text(markdown_table(rows, task), encoding="utf-8")
    written.append(markdown)
    if plots:
        from nlp_transfer.diagnostics.figures import diagnose_figure

        written.append(diagnose_figure(rows, task, out_dir))
    return written


def write_against(rows: list[dict], sweep_dir: Path, strategy: str, task: str, out_dir: Path) -> list[Path]:
    """against_<task>.csv and .md: Kendall τ of every score vs the sweep's measured accuracy."""
    import csv

    from nlp_transfer.diagnostics.against import against_markdown, correlate, measured_scores

    results = correlate(rows, measured_scores(sweep_dir, strategy))
    path = out_dir / f"against_{task}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["score", "target", "tau", "cells"])
        writer.writeheader()
        writer.writerows(results)
    markdown = out_dir / f"against_{task}.md"
    markdown.write_text(against_markdown(results, strategy), encoding="utf-8")
    return [path, markdown]
