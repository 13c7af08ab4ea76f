"""`nlp-transfer diagnose` end to end with the tiny backbone on a small slice, its feature cache, and
`--against` on a sweep folder of hand-written results.json records."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import kendalltau

from nlp_transfer.cli import main
from nlp_transfer.diagnostics.against import SOURCES, correlate
from nlp_transfer.diagnostics.encoding import subsample
from nlp_transfer.diagnostics.table import ORIENTATION, read_table_csv

SMALL = ["task=sentiment", "backbone=tiny", "task.max_length=32", "--cap", "40", "--no-plots"]
DOMAINS = ["books", "dvd", "electronics", "kitchen"]


@pytest.fixture(scope="module")
def diagnosed(tmp_path_factory) -> tuple[Path, Path, list[dict]]:
    """(cache dir, out dir, rows) of one diagnose run, shared by the module's tests."""
    root = tmp_path_factory.mktemp("diagnose")
    cache, out = root / "cache", root / "out"
    assert main(["diagnose", *SMALL, f"paths.cache_dir={cache}", "--out", str(out)]) == 0
    return cache, out, read_table_csv(out / "diagnose_sentiment.csv")


def test_every_cross_domain_pair_gets_a_row_of_finite_scores(diagnosed) -> None:
    _, out, rows = diagnosed
    assert sorted((r["source"], r["target"]) for r in rows) == [
        (s, t) for s in DOMAINS for t in DOMAINS if s != t
    ]
    assert all(r["backbone"] == "tiny" and r["n_source"] == 40 and r["n_target"] == 40 for r in rows)
    assert all(np.isfinite(r[name]) for r in rows for name in ORIENTATION)
    pad = {(r["source"], r["target"]): r["pad"] for r in rows}
    assert all(pad[(s, t)] == pad[(t, s)] for s, t in pad)  # symmetric
    assert "| books | dvd | tiny |" in (out / "diagnose_sentiment.md").read_text()


def test_a_second_call_reads_the_cached_features(diagnosed, tmp_path) -> None:
    cache, out, rows = diagnosed
    files = sorted((cache / "features" / "diagnostics").glob("*.pt"))
    assert len(files) == len(DOMAINS)  # one per domain, no temp file left
    stamps = [f.stat().st_mtime_ns for f in files]
    assert main(["diagnose", *SMALL, f"paths.cache_dir={cache}", "--out", str(tmp_path)]) == 0
    assert sorted((cache / "features" / "diagnostics").glob("*.pt")) == files
    assert [f.stat().st_mtime_ns for f in files] == stamps  # read, not rewritten
    assert read_table_csv(tmp_path / "diagnose_sentiment.csv") == rows


def write_run(root: Path, backbone: str, source: str, target: str, acc: float, seed: int) -> None:
    folder = root / f"{backbone}_{source}_{target}_{seed}"
    folder.mkdir(parents=True)
    record = {
        "status": "ok",
        "config": {
            "task": "sentiment", "strategy": "fine_tune", "backbone": backbone, "source": source,
            "target": target, "seed": seed,
            "resolved": {"task": {"domains": DOMAINS, "selection_metric": "source/val/acc"}},
        },
        "metrics": {"target/test/acc": acc, "source/val/acc": 0.9},
        "cost": {"wall_seconds": 1.0},
    }  # fmt: skip
    (folder / "results.json").write_text(json.dumps(record))


def test_against_a_sweep_whose_accuracy_follows_leep_gives_tau_one_for_leep(
    diagnosed, tmp_path, capsys
) -> None:
    cache, _, rows = diagnosed
    sweep = tmp_path / "sweep"
    for rank, row in enumerate(sorted(rows, key=lambda r: r["leep"])):
        for seed, noise in ((1, -0.001), (2, 0.001)):  # two seeds: their mean is the measured value
            write_run(sweep, "tiny", row["source"], row["target"], 0.5 + 0.01 * rank + noise, seed)
    write_run(sweep, "tiny", "books", "books", 0.99, 1)  # in-domain: not a transfer cell
    out = tmp_path / "out"
    assert (
        main(["diagnose", *SMALL, f"paths.cache_dir={cache}", "--out", str(out), "--against", str(sweep)])
        == 0
    )
    taus = {(r["score"], r["target"]): float(r["tau"]) for r in _csv(out / "against_sentiment.csv")}
    assert all(taus[("leep", t)] == pytest.approx(1.0) for t in [*DOMAINS, "all"])
    measured = [0.5 + 0.01 * rank for rank, _ in enumerate(sorted(rows, key=lambda r: r["leep"]))]
    by_leep = sorted(rows, key=lambda r: r["leep"])
    assert taus[("pad", "all")] == pytest.approx(kendalltau([-r["pad"] for r in by_leep], measured).statistic)
    assert "Kendall τ" in capsys.readouterr().out


def _csv(path: Path) -> list[dict]:
    import csv

    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_correlate_orients_distances_and_leaves_constant_scores_undefined() -> None:
    rows = [
        {
            "backbone": b,
            "source": s,
            "target": "t",
            **dict.fromkeys(ORIENTATION, 0.0),
            "pad": pad,
            "leep": leep,
        }
        for b, s, pad, leep in [("a", "x", 0.2, -0.1), ("a", "y", 1.0, -0.5), ("b", "x", 1.5, -0.2)]
    ]
    measured = {("a", "x", "t"): 0.9, ("a", "y", "t"): 0.7, ("b", "x", "t"): 0.6, ("c", "x", "t"): 0.1}
    by = {(r["score"], r["target"]): r for r in correlate(rows, measured)}
    assert (
        by[("pad", "t")]["tau"] == pytest.approx(1.0) and by[("pad", "t")]["cells"] == 3
    )  # lower PAD, better
    assert by[("leep", "t")]["tau"] == pytest.approx(1 / 3)  # pairs: (x,y) +, (x,bx) +, (y,bx) −
    assert np.isnan(by[("logme", "t")]["tau"])  # constant score: no ranking


def test_sources_column_ranks_the_sources_within_each_backbone_apart_from_the_backbones() -> None:
    """A distance that grows with backbone quality ranks the pooled cells badly (τ = (6 − 9)/15 with 6
    concordant pairs within backbones and 9 discordant across) yet picks each backbone's sources right."""
    table = [("strong", "x", 1.80, 0.90), ("strong", "y", 1.90, 0.85), ("strong", "z", 1.95, 0.80),
             ("weak", "x", 0.50, 0.60), ("weak", "y", 0.60, 0.55), ("weak", "z", 0.70, 0.50)]  # fmt: skip
    rows = [{"backbone": b, "source": s, "target": "t", **dict.fromkeys(ORIENTATION, 0.0), "pad": pad}
            for b, s, pad, _ in table]  # fmt: skip
    measured = {(b, s, "t"): acc for b, s, _, acc in table}
    by = {(r["score"], r["target"]): r for r in correlate(rows, measured)}
    assert by[("pad", "t")]["tau"] == pytest.approx(-0.2)
    assert by[("pad", SOURCES)]["tau"] == pytest.approx(1.0) and by[("pad", SOURCES)]["cells"] == 6
    assert np.isnan(by[("logme", SOURCES)]["tau"]) and by[("logme", SOURCES)]["cells"] == 0


def test_subsampling_is_fixed_by_the_seed_and_capped() -> None:
    assert list(subsample(5, 10, seed=0)) == [0, 1, 2, 3, 4]
    picked = subsample(1000, 20, seed=3)
    assert len(set(picked)) == 20 and list(picked) == sorted(picked)
    assert list(picked) == list(subsample(1000, 20, seed=3)) != list(subsample(1000, 20, seed=4))


def test_diagnose_without_a_task_or_with_a_token_task_is_refused(capsys) -> None:
    assert main(["diagnose", "backbone=tiny"]) == 2
    assert "task=sentiment" in capsys.readouterr().err
    assert main(["diagnose", "task=ner", "backbone=tiny"]) == 2
    assert "text classification" in capsys.readouterr().err
