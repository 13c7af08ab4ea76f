"""Runs of one strategy in two settings are two rows, never one cell's seeds (results/setting.py)."""

from __future__ import annotations

import json
from pathlib import Path

from nlp_transfer.results.collect import collect_runs
from nlp_transfer.results.setting import differing_keys, setting_id, setting_of, split_by_setting
from nlp_transfer.results.tables import markdown_table
from tests.results.test_tables import DOMAINS, table_rows


def resolved(weight: float, source: str = "books", seed: int = 1, **extra: object) -> dict:
    """A resolved config as train.py records it, cut down to what the setting reads."""
    return {
        "seed": seed,
        "domain": {"source": source, "target": "dvd"},
        "paths": {"root_dir": "/somewhere"},
        "run_name": f"dann_{source}_{seed}",
        "task": {
            "domains": DOMAINS,
            "selection_metric": "source/val/acc",
            "source": source,
            "max_length": 128,
        },
        "strategy": {"domain_loss_weight": weight, "optimizer": {"lr": 5e-5}},
        "selection": {"validators": [{"_target_": "x"}], "oracle": True},
        **extra,
    }


def test_the_setting_leaves_out_what_varies_within_a_cell_or_is_only_recorded() -> None:
    one = setting_of(resolved(1.0, "books", seed=1))
    other = setting_of(resolved(1.0, "kitchen", seed=2, evaluate_on="target"))
    assert one is not None and setting_id(one) == setting_id(other)  # seed, pair, evaluate_on, names, paths
    assert "strategy.optimizer.lr" in one and not any(k.startswith("selection.") for k in one)
    assert setting_id(setting_of(resolved(0.1))) != setting_id(one)
    assert setting_of({}) is None and setting_id(None) == ""


def test_only_keys_every_setting_has_tell_settings_apart() -> None:
    old, new = setting_of(resolved(1.0)), setting_of(resolved(1.0, backbone={"recompute": True}))
    assert differing_keys([old, new]) == []  # an option added later does not split old runs from new
    assert differing_keys([old, setting_of(resolved(10.0))]) == ["strategy.domain_loss_weight"]


def write(root: Path, name: str, weight: float, seed: int, acc: float) -> None:
    record = {
        "status": "ok",
        "config": {
            "task": "sentiment", "strategy": "dann", "backbone": "tiny", "source": "books", "target": "dvd",
            "seed": seed, "resolved": resolved(weight, seed=seed),
        },
        "metrics": {"target/test/acc": acc, "source/val/acc": 0.9},
    }  # fmt: skip
    (root / name).mkdir(parents=True)
    (root / name / "results.json").write_text(json.dumps(record))


def test_a_loss_weight_sweep_gives_one_row_per_weight_with_its_own_seeds(tmp_path: Path) -> None:
    write(tmp_path, "a", 0.1, 1, 0.70)
    write(tmp_path, "b", 0.1, 2, 0.72)
    write(tmp_path, "c", 10.0, 1, 0.50)
    rows = collect_runs(tmp_path)
    assert sorted({r.strategy for r in rows}) == [
        "dann [strategy.domain_loss_weight=0.1]",
        "dann [strategy.domain_loss_weight=10.0]",
    ]
    table = {line[0]: line[1] for line in table_rows(markdown_table(rows, "sentiment"))[1:3]}
    assert table["dann [strategy.domain_loss_weight=0.1]"].startswith("0.7100 ± ")  # two seeds, one weight
    assert table["dann [strategy.domain_loss_weight=10.0]"] == "0.5000 (n=1)†"  # never averaged with 0.1's


def test_one_setting_keeps_the_plain_name_and_rows_without_a_config_are_left_alone(tmp_path: Path) -> None:
    write(tmp_path, "a", 1.0, 1, 0.70)
    write(tmp_path, "b", 1.0, 2, 0.72)
    rows = collect_runs(tmp_path)
    assert [r.strategy for r in rows] == ["dann", "dann"] and rows[0].setting_id == rows[1].setting_id
    bare = [r.__class__(**{**r.__dict__, "setting": None}) for r in rows]
    assert [r.strategy for r in split_by_setting(bare)] == ["dann", "dann"]
