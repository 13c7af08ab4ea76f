"""Unreadable, incomplete or running results.json: listed, never a table, exit 1 unless allowed."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

from omegaconf import OmegaConf

from nlp_transfer.callbacks.sweep_report import WriteSweepReport
from nlp_transfer.cli import main
from nlp_transfer.results.collect import collect
from tests.results.test_tables import write_run


def write_record(root: Path, name: str, text: str) -> Path:
    (root / name).mkdir(parents=True)
    (root / name / "results.json").write_text(text)
    return root / name


def broken_sweep(root: Path) -> dict[str, Path]:
    """One good run, one failed run, and the three kinds of run that cannot be a table row."""
    write_run(root, "0_good", "dann", "books", "dvd", 0.75)
    write_run(root, "1_failed", "dann", "dvd", "books", None)
    running = json.loads((root / "0_good" / "results.json").read_text()) | {"status": "running"}
    del running["metrics"]
    return {
        "corrupt": write_record(root, "2_corrupt", '{"status": "ok", "metr'),
        "bare_ok": write_record(root, "3_bare_ok", '{"status": "ok"}'),
        "running": write_record(root, "4_running", json.dumps(running)),
    }


def test_incomplete_records_are_listed_not_rows(tmp_path: Path) -> None:
    bad = broken_sweep(tmp_path)
    runs = collect(tmp_path)
    assert [(r.source, r.target, r.status) for r in runs.rows] == [
        ("books", "dvd", "ok"),
        ("dvd", "books", "failed"),
    ]
    by_path = {run.path: run for run in runs.incomplete}
    assert set(by_path) == set(bad.values())
    assert by_path[bad["corrupt"]].status == "unreadable"
    assert by_path[bad["bare_ok"]].status == "incomplete" and "no config" in by_path[bad["bare_ok"]].problem
    assert by_path[bad["running"]].status == "running"


def test_an_ok_record_without_its_headline_metric_is_incomplete(tmp_path: Path) -> None:
    write_run(tmp_path, "0", "dann", "books", "dvd", 0.75)
    record = json.loads((tmp_path / "0" / "results.json").read_text())
    record["metrics"] = {"source/val/acc": 0.9}
    (tmp_path / "0" / "results.json").write_text(json.dumps(record))
    (problem,) = collect(tmp_path).incomplete
    assert problem.problem == "status ok but no target/test/acc metric"


def test_cli_lists_incomplete_runs_exits_1_and_writes_no_unknown_task_table(tmp_path: Path, capsys) -> None:
    sweep, out = tmp_path / "sweep", tmp_path / "out"
    bad = broken_sweep(sweep)
    assert main(["results", str(sweep), "--out", str(out)]) == 1
    captured = capsys.readouterr()
    for kind, path in [
        ("unreadable", bad["corrupt"]),
        ("incomplete", bad["bare_ok"]),
        ("running", bad["running"]),
    ]:
        assert f"{kind}: {path}" in captured.out
    assert f"failed: {sweep / '1_failed'}: RuntimeError: boom" in captured.out
    assert "--allow-incomplete" in captured.err
    names = {p.name for p in out.iterdir()}
    assert {"results_sentiment.md", "heatmap_sentiment_dann.png", "runs.csv", "incomplete_runs.csv"} <= names
    assert not any("?" in name for name in names)
    with (out / "incomplete_runs.csv").open() as handle:
        assert {row["status"] for row in csv.DictReader(handle)} == {"unreadable", "incomplete", "running"}
    with (out / "runs.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 2


def test_allow_incomplete_exits_0_and_failed_runs_alone_do_not_fail_the_command(tmp_path: Path) -> None:
    broken_sweep(tmp_path / "broken")
    assert main(["results", str(tmp_path / "broken"), "--no-plots", "--allow-incomplete"]) == 0
    write_run(tmp_path / "failed_only", "0", "dann", "books", "dvd", 0.75)
    write_run(tmp_path / "failed_only", "1", "dann", "dvd", "books", None)
    assert main(["results", str(tmp_path / "failed_only"), "--no-plots"]) == 0
    assert not (tmp_path / "failed_only" / "incomplete_runs.csv").exists()


def test_a_sweep_of_only_incomplete_runs_writes_no_table_and_exits_1(tmp_path: Path, capsys) -> None:
    write_record(tmp_path, "0", '{"status": "ok"}')
    assert main(["results", str(tmp_path)]) == 1
    assert "incomplete: " in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0", "incomplete_runs.csv"]


def test_the_sweep_end_report_still_writes_its_table_and_logs_incomplete_runs(tmp_path: Path, caplog) -> None:
    bad = broken_sweep(tmp_path)
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}})
    with caplog.at_level(logging.WARNING):
        WriteSweepReport(plots=False).on_multirun_end(config)
    assert (tmp_path / "results_sentiment.md").is_file()
    assert "3 run(s) not in the tables" in caplog.text and str(bad["bare_ok"]) in caplog.text
