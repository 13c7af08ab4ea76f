"""Whole runs through `train()` on slices of the real Amazon data with the tiny backbone."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from nlp_transfer.data.errors import DataError
from nlp_transfer.models.backbone import BackboneNotFoundError
from tests.wandb_offline import history_rows

NER_KEYS = {
    "source/val/f1",
    "source/test/f1",
    "target/test/f1",
    "target/test/precision",
    "target/test/recall",
}

METRIC_KEYS = {
    "source/val/acc",
    "source/test/acc",
    "target/test/acc",
    "target/test/macro_f1",
    "source/val/macro_f1",
}


DEFAULT_PAIRS = {
    "sentiment": ("books", "kitchen"),
    "emotion": ("tweets", "reddit"),
    "topic": ("agnews", "bbc"),
    "ner": ("news", "politics"),
}


@pytest.mark.parametrize("task", sorted(DEFAULT_PAIRS))
@pytest.mark.parametrize("strategy", ["fine_tune", "feature_extraction", "dann"])
def test_each_strategy_trains_tests_and_writes_results(strategy: str, task: str, run_training) -> None:
    record = run_training(f"strategy={strategy}", f"task={task}")
    out: Path = record["output_dir"]
    on_disk = json.loads((out / "results.json").read_text())
    assert on_disk["status"] == "ok"
    keys = NER_KEYS if task == "ner" else METRIC_KEYS
    assert keys <= set(on_disk["metrics"])
    for key in keys:
        assert 0.0 <= on_disk["metrics"][key] <= 1.0
    assert on_disk["config"]["choices"]["strategy"] == on_disk["config"]["strategy"] == strategy
    assert (on_disk["config"]["source"], on_disk["config"]["target"]) == DEFAULT_PAIRS[task]
    task_cfg = on_disk["config"]["resolved"]["task"]
    if task == "ner":
        assert {f"target/test/type_f1/{kind}" for kind in task_cfg["entity_types"]} <= set(on_disk["metrics"])
    else:
        assert {f"target/test/class_f1/{label}" for label in task_cfg["labels"]} <= set(on_disk["metrics"])
    assert on_disk["selection"]["checkpoint_metric"] == task_cfg["selection_metric"]
    assert on_disk["selection"]["score"] == pytest.approx(on_disk["metrics"][task_cfg["selection_metric"]])
    assert (out / on_disk["selection"]["weights"]).is_file()  # the chosen model, kept as weights only
    assert not Path(on_disk["selection"]["checkpoint"]).exists()  # its full checkpoint removed (retention)
    assert on_disk["cost"]["train_steps"] == 4
    assert on_disk["cost"]["train_examples"] == 4 * 8  # 4 batches of 8 source examples (debug=smoke)
    assert on_disk["cost"]["train_examples_per_s"] > 0
    assert on_disk["env"]["packages"]["torch"]


def test_best_checkpoint_is_chosen_on_source_validation(run_training) -> None:
    record = run_training(
        "strategy=fine_tune",
        "logger=csv",
        "trainer.limit_train_batches=3",
        "trainer.max_epochs=3",
        "strategy.optimizer.lr=0.002",
    )
    with (record["output_dir"] / "csv" / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    val_acc = [float(r["source/val/acc"]) for r in rows if r.get("source/val/acc")]
    # one validation per epoch, then the re-validation of the chosen checkpoint
    assert len(val_acc) == 4
    val_acc, revalidated = val_acc[:3], val_acc[3]
    assert record["selection"]["score"] == pytest.approx(max(val_acc)) == pytest.approx(revalidated)
    best_epoch = val_acc.index(max(val_acc))  # the first best one is kept
    assert f"best-epoch{best_epoch:02d}-" in Path(record["selection"]["checkpoint"]).name


def test_dann_logs_its_schedule_and_domain_loss(run_training) -> None:
    record = run_training("strategy=dann", "logger=csv", "trainer.limit_train_batches=6")
    with (record["output_dir"] / "csv" / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    lambdas = [float(r["train/lambda"]) for r in rows if r.get("train/lambda")]
    assert len(lambdas) == 6 and lambdas[0] == 0.0 and lambdas == sorted(lambdas) and lambdas[-1] > 0.9
    assert all(r["train/domain_loss"] for r in rows if r.get("train/lambda"))


def test_wandb_offline_run_holds_the_logged_metrics(run_training) -> None:
    record = run_training("strategy=dann", "logger=wandb")
    run_files = list((record["output_dir"] / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(run_files) == 1, "expected exactly one offline W&B run"
    rows = history_rows(run_files[0])
    logged = {key: value for row in rows for key, value in row.items()}
    assert {"train/loss", "train/lambda", "source/val/acc", "target/test/acc"} <= set(logged)
    assert logged["target/test/acc"] == pytest.approx(record["metrics"]["target/test/acc"])
    import wandb

    assert wandb.run is None, "wandb.finish() must close the run at the end of the job"


def test_eval_reproduces_the_runs_target_accuracy_and_moves_target(
    run_training, tmp_path, monkeypatch
) -> None:
    from nlp_transfer.eval import evaluate

    record = run_training("strategy=fine_tune")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    run_predictions = sorted((record["output_dir"] / "predictions").iterdir())
    before = [p.read_bytes() for p in run_predictions]
    metrics = evaluate(record["output_dir"])
    assert metrics["target/test/acc"] == pytest.approx(record["metrics"]["target/test/acc"])
    # eval's predictions go beside the run's (eval/predictions), never over them or into the cwd
    assert sorted(p.name for p in (record["output_dir"] / "eval" / "predictions").iterdir()) == [
        p.name for p in run_predictions
    ]
    assert [p.read_bytes() for p in run_predictions] == before and not any(elsewhere.iterdir())
    assert metrics["source/test/acc"] == pytest.approx(record["metrics"]["source/test/acc"])
    moved = evaluate(record["output_dir"], target="dvd")
    assert moved["source/test/acc"] == pytest.approx(record["metrics"]["source/test/acc"])


def test_eval_of_a_run_tested_on_every_domain_names_its_pair_and_can_move_target(run_training) -> None:
    from nlp_transfer.eval import evaluate

    record = run_training("strategy=fine_tune", "evaluate_on=all_domains")
    metrics = evaluate(record["output_dir"])
    for name in ("target/test/acc", "source/test/acc", "domains/dvd/test/acc", "domains/books/test/acc"):
        assert metrics[name] == pytest.approx(record["metrics"][name]), name
    moved = evaluate(record["output_dir"], target="dvd")  # one pair only, under the usual names
    assert moved["target/test/acc"] == pytest.approx(record["metrics"]["domains/dvd/test/acc"])
    assert not any(name.startswith("domains/") for name in moved)


def test_missing_data_directory_fails_before_training_and_is_recorded(run_training, tmp_path) -> None:
    out = tmp_path / "bad"
    with pytest.raises(DataError, match="NLP_TRANSFER_DATA"):
        run_training(f"paths.data_dir={tmp_path / 'no-data'}", output_dir=out)
    record = json.loads((out / "results.json").read_text())
    assert record["status"] == "failed" and "no-data" in record["error"]
    assert not (out / "checkpoints").exists()


def test_hub_backbone_offline_fails_early_naming_minilm(run_training, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "hub"
    with pytest.raises(BackboneNotFoundError, match="backbone=minilm"):
        run_training("backbone=distilbert", output_dir=out)
    assert not (out / "checkpoints").exists()


def test_a_new_domain_folder_trains_with_no_code_or_config_change(run_training, data_dir, tmp_path) -> None:
    """Acceptance: a new domain is a new folder in the data layout, nothing else."""
    root = tmp_path / "data"
    (root / "sentiment").mkdir(parents=True)
    (root / "sentiment" / "books").symlink_to(data_dir / "sentiment" / "books")
    toys = root / "sentiment" / "toys"
    toys.mkdir()
    reviews = [
        ("Broke in a day, the wheels fell off.", "negative"),
        ("My son loves this truck!", "positive"),
    ] * 8
    for split in ("train", "validation", "test"):
        with (toys / f"{split}.jsonl").open("w") as handle:
            handle.writelines(json.dumps({"text": t, "label": label}) + "\n" for t, label in reviews)
    record = run_training("strategy=dann", f"paths.data_dir={root}", "domain.target=toys")
    assert record["status"] == "ok"
    assert record["config"]["target"] == "toys"
    assert "toys/test" in record["data"]["checksums"]


def test_same_config_and_seed_give_identical_metrics(run_training, tmp_path) -> None:
    first = run_training("strategy=dann", output_dir=tmp_path / "one")
    second = run_training("strategy=dann", output_dir=tmp_path / "two")
    assert first["metrics"] == second["metrics"]
    third = run_training("strategy=dann", "seed=7", output_dir=tmp_path / "three")
    assert third["metrics"] != first["metrics"]


@pytest.mark.parametrize("label_space", ["target", "shared"])
def test_few_shot_target_training_is_a_separate_marked_phase(label_space: str, run_training) -> None:
    record = run_training(
        "task=ner", "domain.target=ai", "target_finetune=few_shot",
        f"target_finetune.label_space={label_space}", "target_finetune.trainer.max_epochs=2",
    )  # fmt: skip
    phase = record["target_finetune"]
    assert phase["target_labels_used"] is True and phase["label_space"] == label_space
    assert phase["train_examples"] == 64 and phase["train_steps"] == 8  # debug=smoke: 64 sentences, 4 batches
    assert {"target/val/f1", "target/test/f1", "target/test/precision"} <= set(phase["metrics"])
    shared_types = {"person", "organisation", "location", "misc"}
    phase_types = {key.rsplit("/", 1)[-1] for key in phase["metrics"] if "/type_f1/" in key}
    if label_space == "target":  # CrossNER ai's own entity types, found in its files
        assert {"algorithm", "conference", "programlang", "researcher"} <= phase_types
        assert "B-algorithm" in phase["labels"]
    else:
        assert phase_types == shared_types
    # the unsupervised-transfer metrics are still those of the shared label set
    assert {k.rsplit("/", 1)[-1] for k in record["metrics"] if "target/test/type_f1/" in k} == shared_types


def test_wandb_mode_follows_login_and_wandb_aliases(monkeypatch, tmp_path) -> None:
    from nlp_transfer.tracking import resolve_wandb_mode

    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    assert resolve_wandb_mode("auto") == "offline"
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert resolve_wandb_mode("auto") == "online"
    monkeypatch.setenv("WANDB_MODE", "dryrun")  # what an earlier offline job of a multirun leaves behind
    assert resolve_wandb_mode("auto") == "offline"
    assert resolve_wandb_mode("disabled") == "disabled"
    with pytest.raises(ValueError, match="auto, online, offline or disabled"):
        resolve_wandb_mode("sometimes")
