"""One row of scores and distances per (backbone, source, target): what `nlp-transfer diagnose` reports.

For each backbone every domain's labeled train split is encoded once (diagnostics/encoding.py). Then:

* per (backbone, target): LogME and H-score of the target's features for the target's labels (how well the
  backbone's features fit the target task linearly; the same for every source);
* per (backbone, source): LogME of the source's own features (`logme_source`), and a linear source model
  (diagnostics/source_model.py);
* per (backbone, source, target): LEEP and NCE of that source model read on the target's examples, proxy
  A-distance, linear MMD² and the label TV between the two domains.

These read the labels of both domains' *train* splits: a diagnostic before training, not a training signal
and never the test split. In-domain pairs (source = target) are left out: there is no shift to measure.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from nlp_transfer.diagnostics.encoding import DomainFeatures

#: every column, and whether a higher value predicts better transfer (+1) or worse (−1)
ORIENTATION = {
    "logme": 1, "h_score": 1, "logme_source": 1, "leep": 1, "nce": 1, "pad": -1, "mmd2": -1, "label_tv": -1,
}  # fmt: skip
KEYS = ("backbone", "source", "target", "n_source", "n_target")


def backbone_rows(backbone: str, domains: dict[str, DomainFeatures], classes: int, seed: int) -> list[dict]:
    """The rows of one backbone: every ordered pair of distinct domains."""
    from nlp_transfer.diagnostics.h_score import h_score
    from nlp_transfer.diagnostics.logme import logme
    from nlp_transfer.diagnostics.source_model import fit_source_model

    fitted = {d: logme(x.features, x.labels) for d, x in domains.items()}
    spread = {d: h_score(x.features, x.labels) for d, x in domains.items()}
    models = {d: fit_source_model(x.features, x.labels, seed=seed) for d, x in domains.items()}
    rows = []
    for source, target in ((s, t) for s in domains for t in domains if s != t):
        row = {"backbone": backbone, "source": source, "target": target}
        row |= {"n_source": len(domains[source].labels), "n_target": len(domains[target].labels)}
        row |= {"logme": fitted[target], "h_score": spread[target], "logme_source": fitted[source]}
        row |= pair_measures(domains[source], domains[target], models[source], classes, seed)
        rows.append(row)
    return rows


def ordered(first: DomainFeatures, second: DomainFeatures) -> tuple[np.ndarray, np.ndarray]:
    """The two feature arrays in a fixed order, so that PAD's random split makes PAD(a, b) = PAD(b, a)."""
    a, b = first.features, second.features
    return (a, b) if (len(a), a[:1].tobytes()) <= (len(b), b[:1].tobytes()) else (b, a)


def pair_measures(
    source: DomainFeatures, target: DomainFeatures, model: Any, classes: int, seed: int
) -> dict:
    """LEEP, NCE (the source model on the target), PAD, linear MMD² and label TV of one pair."""
    from nlp_transfer.diagnostics.label_shift import label_total_variation
    from nlp_transfer.diagnostics.leep import leep
    from nlp_transfer.diagnostics.mmd import linear_mmd2
    from nlp_transfer.diagnostics.nce import nce
    from nlp_transfer.diagnostics.proxy_a_distance import proxy_a_distance
    from nlp_transfer.diagnostics.source_model import source_probabilities

    theta = source_probabilities(model, target.features, classes)
    return {
        "leep": leep(theta, target.labels),
        "nce": nce(theta.argmax(axis=1), target.labels),
        "pad": proxy_a_distance(*ordered(source, target), seed=seed),
        "mmd2": linear_mmd2(source.features, target.features),
        "label_tv": label_total_variation(source.labels, target.labels, classes),
    }


def write_table_csv(rows: list[dict], path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*KEYS, *ORIENTATION])
        writer.writeheader()
        writer.writerows(rows)
    return path


def read_table_csv(path: Path) -> list[dict]:
    """Rows written by `write_table_csv`, numbers as numbers."""
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        for key in ("n_source", "n_target"):
            row[key] = int(row[key])
        for key in ORIENTATION:
            row[key] = float(row[key])
    return rows


def markdown_table(rows: list[dict], task: str) -> str:
    """The table as Markdown, grouped by target, with the direction of each column in the header."""
    arrows = {name: "↑" if sign > 0 else "↓" for name, sign in ORIENTATION.items()}
    header = ["target", "source", "backbone", *(f"{name} {arrows[name]}" for name in ORIENTATION)]
    lines = [
        f"## Transferability and domain shift: {task}",
        "",
        "↑: higher predicts better transfer; ↓: lower does. Features: frozen, mean-pooled, train splits.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for row in sorted(rows, key=lambda r: (r["target"], r["source"], r["backbone"])):
        values = [f"{row[name]:.3f}" if abs(row[name]) < 1e4 else f"{row[name]:.3g}" for name in ORIENTATION]
        lines.append("| " + " | ".join([row["target"], row["source"], row["backbone"], *values]) + " |")
    return "\n".join(lines) + "\n"
