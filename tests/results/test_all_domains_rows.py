"""Runs tested on every domain fill whole table rows; one walk over results.json for tables and exit code."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

from nlp_transfer.callbacks.sweep_status import failed_runs
from nlp_transfer.results.cli import build_report
from nlp_transfer.results.collect import collect_runs
from nlp_transfer.results.domain_metrics import domain_metrics, split_domain_metric, with_pair_names
from tests.results.test_tables import table_rows

DOMAINS = ["books", "dvd", "kitchen"]


def write_all_domains_run(root: Path, name: str, source: str, accs: dict[str, float] | None) -> Path:
    """A results.json as train.py writes it for `evaluate_on=all_domains` (None: the run failed)."""
    metrics = {"source/val/acc": 0.9}
    for domain, acc in (accs or {}).items():
        metrics |= {f"domains/{domain}/test/acc": acc, f"domains/{domain}/test/macro_f1": acc - 0.01}
    metrics = with_pair_names(metrics, source, "books")
    record = {
        "status": "ok" if accs else "failed",
        "config": {
            "task": "sentiment", "strategy": "fine_tune", "backbone": "tiny", "source": source,
            "target": "books", "seed": 42, "evaluate_on": "all_domains",
            "resolved": {"task": {"domains": DOMAINS, "selection_metric": "source/val/acc"}},
        },
        "metrics": metrics if accs else {},
    }  # fmt: skip
    if not accs:
        record["error"] = "RuntimeError: boom"
    (root / name).mkdir(parents=True)
    (root / name / "results.json").write_text(json.dumps(record))
    return root / name


def test_domain_metric_names_round_trip() -> None:
    assert split_domain_metric("domains/dvd/test/class_f1/positive") == ("dvd", "class_f1/positive")
    assert split_domain_metric("target/test/acc") is None
    assert split_domain_metric("domains/test/acc") is None
    named = with_pair_names({"domains/dvd/test/acc": 0.7, "domains/books/test/acc": 0.8}, "books", "dvd")
    assert named["target/test/acc"] == 0.7 and named["source/test/acc"] == 0.8
    assert domain_metrics(named) == {"dvd": {"acc": 0.7}, "books": {"acc": 0.8}}


def test_one_run_per_source_fills_the_whole_table(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    accs = {s: {t: 0.5 + 0.1 * i + 0.01 * j for j, t in enumerate(DOMAINS)} for i, s in enumerate(DOMAINS)}
    runs = {s: write_all_domains_run(sweep, f"{i}_{s}", s, accs[s]) for i, s in enumerate(DOMAINS)}
    rows = collect_runs(sweep)
    assert len(rows) == 9
    assert {(r.source, r.target): r.target_score for r in rows} == {
        (s, t): accs[s][t] for s in DOMAINS for t in DOMAINS
    }
    assert all(r.evaluated_from == runs[r.source] for r in rows)
    assert all(not any(k.startswith("domains/") for k in r.metrics) for r in rows)

    build_report(sweep, tmp_path / "out", plots=False)
    markdown = (tmp_path / "out" / "results_sentiment.md").read_text()
    cross = table_rows(markdown)[:2]
    pairs = [(s, t) for s in DOMAINS for t in DOMAINS if s != t]
    assert cross[1][1:-1] == [f"{accs[s][t]:.4f}" for s, t in pairs]
    assert "fine_tune: trained once per source" in markdown
    with (tmp_path / "out" / "runs.csv").open() as handle:
        csv_rows = list(csv.DictReader(handle))
    assert {(r["source"], r["target"], r["evaluated_from"]) for r in csv_rows} == {
        (s, t, str(runs[s])) for s in DOMAINS for t in DOMAINS
    }


def test_a_failed_all_domains_run_marks_every_cell_of_its_source_failed(tmp_path: Path) -> None:
    write_all_domains_run(tmp_path, "0_books", "books", None)
    write_all_domains_run(tmp_path, "1_dvd", "dvd", {d: 0.7 for d in DOMAINS})
    table = table_rows(build_report(tmp_path, tmp_path / "out", plots=False)["markdown"][0].read_text())
    header, row = table[0], table[1]
    cells = dict(zip(header[1:-1], row[1:-1], strict=True))
    assert cells["books → dvd"] == cells["books → kitchen"] == "failed"
    assert cells["dvd → books"] == "0.7000"


def test_unreadable_files_are_failed_jobs_for_the_sweep_and_skipped_with_a_warning_by_the_tables(
    tmp_path: Path, caplog
) -> None:
    write_all_domains_run(tmp_path, "0_books", "books", {d: 0.7 for d in DOMAINS})
    (tmp_path / "1_cut").mkdir()
    (tmp_path / "1_cut" / "results.json").write_text('{"status": "ok", "metr')
    (tmp_path / "2_list").mkdir()
    (tmp_path / "2_list" / "results.json").write_text("[]")
    failed = dict(failed_runs(tmp_path))
    assert set(failed) == {tmp_path / "1_cut", tmp_path / "2_list"}
    assert all(problem.startswith("unreadable results.json") for problem in failed.values())
    with caplog.at_level(logging.WARNING):
        rows = collect_runs(tmp_path)
    assert len(rows) == 3 and {r.source for r in rows} == {"books"}
    assert "1_cut" in caplog.text and "2_list" in caplog.text
