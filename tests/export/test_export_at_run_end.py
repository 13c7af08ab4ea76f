"""`export=true`: a finished run also writes its Hugging Face folder; an unexportable head is reported."""

from __future__ import annotations

import json
import logging

from nlp_transfer.export.run_export import EXPORT_DIR


def test_a_finished_run_with_export_true_writes_the_folder_beside_its_results(run_training) -> None:
    record = run_training("strategy=fine_tune", "export=true")
    folder = record["output_dir"] / EXPORT_DIR
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    assert record["status"] == "ok" and (folder / "README.md").is_file()
    assert sorted(config["id2label"].values()) == ["negative", "positive"]


def test_an_unexportable_head_is_reported_and_the_run_stays_ok(run_training, caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="nlp_transfer.train"):
        record = run_training("strategy=feature_extraction", "export=true")  # mean pooling: no HF class
    assert record["status"] == "ok"
    assert not (record["output_dir"] / EXPORT_DIR).exists()
    assert "its model was not exported" in caplog.text
