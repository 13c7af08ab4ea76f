"""The multi-source table from hand-written records: pooled rows, best single source (source val, oracle)."""

from __future__ import annotations

import json
from pathlib import Path

from nlp_transfer.results.collect import collect_runs
from nlp_transfer.results.tables import markdown_table
from tests.results.test_tables import table_rows

DOMAINS = ["books", "dvd", "kitchen"]


def write(
    root: Path, name: str, strategy: str, source: str, target: str, acc: float, source_val: float
) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    record = {
        "status": "ok",
        "config": {
            "task": "sentiment", "strategy": strategy, "backbone": "tiny", "source": source, "target": target,
            "seed": 1, "resolved": {"task": {"domains": DOMAINS, "selection_metric": "source/val/acc"}},
        },
        "metrics": {"target/test/acc": acc, "source/val/acc": source_val},
        "cost": {"wall_seconds": 1.0},
    }  # fmt: skip
    (folder / "results.json").write_text(json.dumps(record))


def test_pooled_and_best_single_source_rows_side_by_side(tmp_path: Path) -> None:
    # target kitchen from books (better source val, worse target) or dvd (the oracle's pick)
    write(tmp_path, "a", "fine_tune", "books", "kitchen", 0.70, source_val=0.95)
    write(tmp_path, "b", "fine_tune", "dvd", "kitchen", 0.80, source_val=0.85)
    write(tmp_path, "c", "fine_tune", "books+dvd", "kitchen", 0.75, source_val=0.90)
    write(tmp_path, "d", "dann_multi_source", "books+dvd", "kitchen", 0.78, source_val=0.88)
    write(tmp_path, "e", "fine_tune", "dvd+kitchen", "books", 0.66, source_val=0.90)
    write(tmp_path, "f", "fine_tune", "kitchen", "dvd", 0.60, source_val=0.90)  # not a pooled target's source
    write(tmp_path, "g", "fine_tune", "books+dvd", "dvd", 0.99, source_val=0.90)  # tested on its own source
    markdown = markdown_table(collect_runs(tmp_path), "sentiment")
    main, multi = markdown.split("Multi-source")
    assert "books+dvd" not in main  # pooled runs are no pair of the main table
    table = table_rows(multi)
    assert table[0] == ["strategy", "→ books", "→ kitchen", "average"]  # targets in task order
    assert table[1:] == [
        ["fine_tune · best single source (oracle)", "—", "0.8000 [dvd]", "0.8000*"],
        ["fine_tune · best single source (source val)", "—", "0.7000 [books]", "0.7000*"],
        ["dann_multi_source · pooled sources", "—", "0.7800", "0.7800*"],
        ["fine_tune · pooled sources", "0.6600", "0.7500", "0.7050"],
    ]


def test_no_multi_source_table_without_pooled_runs(tmp_path: Path) -> None:
    write(tmp_path, "a", "fine_tune", "books", "kitchen", 0.70, source_val=0.95)
    assert "Multi-source" not in markdown_table(collect_runs(tmp_path), "sentiment")


def test_all_domains_of_a_pooled_source_lists_each_source() -> None:
    from nlp_transfer.results.domain_metrics import all_domains_of

    assert all_domains_of(["books", "dvd"], "books+toys", "kitchen") == ["books", "dvd", "toys", "kitchen"]
    assert all_domains_of(["books", "dvd"], ["books", "dvd"], "dvd") == ["books", "dvd"]
