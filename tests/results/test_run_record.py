"""The typed run record: the committed schema is its own, old records still read, bad ones are named."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from pydantic import ValidationError

from nlp_transfer.callbacks.throughput import ThroughputMonitor
from nlp_transfer.results.record import (
    SCHEMA_FILE,
    SCHEMA_VERSION,
    Cost,
    RecordError,
    RunConfig,
    RunRecord,
    Selection,
    ValidationPoints,
    callback_sections,
    read_record,
    read_results,
    schema_text,
    validation_points,
    write_results,
)
from tests.conftest import schema_problems

CONFIG = {"task": "sentiment", "strategy": "dann", "backbone": "tiny", "source": "books", "target": "dvd"}


def finished_record() -> RunRecord:
    return RunRecord(
        status="ok",
        fingerprint="abc",
        config=RunConfig(**CONFIG, seed=1, resolved={"task": {"selection_metric": "source/val/macro_f1"}}),
        metrics={"target/test/macro_f1": 0.5, "source/val/loss": math.nan},
        selection=Selection(
            checkpoint_metric="source/val/macro_f1", checkpoint=None, objective="o", points=[]
        ),
        cost=Cost(fit_seconds=1.5, train_examples_per_s=3.0),
    )


def test_the_committed_schema_is_the_one_generated_from_the_record() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), (
        "schemas/results.schema.json is stale: run `python -m nlp_transfer.results.record` and commit it"
    )


def test_a_written_record_validates_and_reads_back_with_nan_as_null(tmp_path: Path) -> None:
    path = write_results(tmp_path, finished_record())
    on_disk = read_results(path)
    assert on_disk["schema_version"] == SCHEMA_VERSION and on_disk["metrics"]["source/val/loss"] is None
    assert on_disk["selection"]["points"] == [] and on_disk["cost"]["train_examples_per_s"] == 3.0
    assert "error" not in on_disk and "resumed_from" not in on_disk  # sections a run lacks are left out
    assert schema_problems([path]) == []
    again = read_record(tmp_path)
    assert again.config.headline == "macro_f1" and again.metric("target/test/macro_f1") == 0.5
    assert again.to_dict() == on_disk


def test_the_schema_check_reports_what_a_record_lacks(tmp_path: Path) -> None:
    broken = read_results(write_results(tmp_path, finished_record()))
    del broken["config"]["task"]
    broken["status"] = "done"
    path = tmp_path / "edited.json"  # beside, not over, the written record (which the suite validates too)
    path.write_text(json.dumps(broken))
    problems = schema_problems([path])
    assert any("'task' is a required property" in p for p in problems)
    assert any("status" in p and "'done'" in p for p in problems)


def test_a_version_1_record_reads_its_validator_as_checkpoint_metric() -> None:
    selection = {"validator": "source/val/acc", "checkpoint": None, "objective": "source/val/acc"}
    old = {"status": "ok", "config": CONFIG, "metrics": {"target/test/acc": 0.7}, "selection": selection}
    record = RunRecord.from_dict(old)
    assert record.schema_version == SCHEMA_VERSION
    assert record.selection.checkpoint_metric == "source/val/acc"
    assert "validator" not in record.to_dict()["selection"]


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"status": "ok"}, "no config"),
        ({"status": "ok", "config": {**CONFIG, "task": ""}}, "config lacks task"),
        ({"status": "done", "config": CONFIG}, "status"),
        ({"schema_version": SCHEMA_VERSION + 1, "status": "ok", "config": CONFIG}, "schema_version"),
        ({"status": "ok", "config": CONFIG, "metrics": {"acc": "high"}}, "metrics.acc"),
        ([], "not a JSON object"),
    ],
)
def test_what_is_no_run_record_is_refused_naming_why(raw, named: str) -> None:
    with pytest.raises(RecordError, match=named):
        RunRecord.from_dict(raw)


def test_a_record_refuses_a_wrong_value_when_it_is_set() -> None:
    record = finished_record()
    with pytest.raises(ValidationError, match="status"):
        record.status = "finished"


def test_callbacks_contribute_their_summary_to_their_section() -> None:
    monitor = ThroughputMonitor()
    assert callback_sections([monitor, object()]) == {"cost": monitor.summary()}


def test_validation_points_are_read_from_an_ok_record_only() -> None:
    """The one reader of `selection.points` (learning curves and the validator report both use it)."""
    rows = [{"step": 2, "source_val": 0.8, "entropy": 0.3, "target/test/acc": 0.7}]
    selection = {"points": rows, "target_metric": "target/test/acc", "directions": {"entropy": "min"}}
    found = validation_points({"status": "ok", "selection": selection})
    assert found == ValidationPoints(rows, "target/test/acc", {"entropy": "min"})
    undirected = validation_points({"status": "ok", "selection": {**selection, "directions": None}})
    assert undirected.directions == {}
    assert validation_points({"status": "failed", "selection": selection}) == "status failed"
    for empty in ({"status": "ok"}, {"status": "ok", "selection": {**selection, "points": []}}):
        assert validation_points(empty).startswith("no validation points")
