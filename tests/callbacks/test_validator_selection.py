"""The validator-selection callback inside real runs (tiny backbone, slices of the real data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from nlp_transfer.callbacks.validator_selection import ValidatorSelection, collect_outputs, target_metric_name
from nlp_transfer.selection.dev import DEVValidator
from nlp_transfer.selection.entropy import EntropyValidator
from nlp_transfer.selection.source_val import SourceValValidator
from nlp_transfer.strategies.fine_tune import FineTuneModule
from tests.conftest import TINY_FAST, compose_config

VALIDATOR_NAMES = {"source_val", "entropy", "info_max", "dev", "bnm", "class_ami", "snd"}
EVERY_TWO_STEPS = "trainer.val_check_interval=2"  # debug=smoke trains 4 batches: points at steps 2 and 4


def check_selection(selection: dict, target_metric: str) -> None:
    """Picks, oracle and table agree with each other; the source-val keys of before are kept."""
    assert {"checkpoint_metric", "checkpoint", "score", "objective"} <= set(selection)
    assert selection["target_metric"] == target_metric
    points = selection["points"]
    assert [p["step"] for p in points] == [2, 4]  # one row per validation point of fit
    assert set(selection["validators"]) == VALIDATOR_NAMES, selection["skipped"]
    by_step = {p["step"]: p for p in points}
    oracle = selection["oracle"]
    assert oracle[target_metric] == max(p[target_metric] for p in points)
    for name, pick in selection["validators"].items():
        assert pick[target_metric] <= oracle[target_metric]
        assert pick[target_metric] == by_step[pick["step"]][target_metric]
        assert pick["score"] == by_step[pick["step"]][name]
    # the checkpoint that produced `metrics` is the source-val pick
    assert f"step{selection['validators']['source_val']['step']}" in Path(selection["checkpoint"]).name


def test_dann_run_records_every_validator_and_the_oracle(run_training) -> None:
    record = run_training("strategy=dann", EVERY_TWO_STEPS)
    on_disk = json.loads((record["output_dir"] / "results.json").read_text())
    check_selection(on_disk["selection"], "target/test/acc")
    assert on_disk["selection"]["directions"] == {
        "source_val": "max",
        "entropy": "min",
        "info_max": "min",
        "dev": "min",
        "bnm": "max",
        "class_ami": "max",
        "snd": "max",
    }


def test_source_only_run_reads_an_unlabeled_target_slice_for_selection(run_training) -> None:
    record = run_training("strategy=fine_tune", EVERY_TWO_STEPS, "selection.target_unlabeled_size=16")
    check_selection(record["selection"], "target/test/acc")
    assert "kitchen/train" in record["data"]["checksums"]  # read (without labels) only for the validators


def test_ner_validators_are_defined_per_word_and_per_sentence(run_training) -> None:
    record = run_training("strategy=dann", "task=ner", EVERY_TWO_STEPS)
    check_selection(record["selection"], "target/test/f1")
    assert record["selection"]["skipped"] == {}
    for point in record["selection"]["points"]:
        assert 0.0 <= point["entropy"] <= torch.log(torch.tensor(9.0)).item()  # 9 BIO tags


def test_selection_none_leaves_only_the_source_val_pick(run_training) -> None:
    record = run_training("strategy=fine_tune", "selection=none")
    pick_only = {"checkpoint_metric", "checkpoint", "score", "objective", "objective_value", "weights"}
    assert set(record["selection"]) == pick_only


def test_evaluating_a_point_leaves_every_module_in_the_mode_it_found(tmp_path) -> None:
    import pytorch_lightning as pl

    from nlp_transfer.assembly import build_data_and_model

    cfg = compose_config([*TINY_FAST, "strategy=feature_extraction", f"paths.cache_dir={tmp_path}"], tmp_path)
    datamodule, model = build_data_and_model(cfg)
    validators = [EntropyValidator(), DEVValidator()]
    callback = ValidatorSelection(validators, "source/val/acc", target_unlabeled_size=16)
    trainer = pl.Trainer(
        max_epochs=1,
        limit_train_batches=2,
        limit_val_batches=1,
        num_sanity_val_steps=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        callbacks=[callback],
    )
    trainer.fit(model, datamodule=datamodule)
    assert len(callback.points) == 1
    with torch.inference_mode():  # source validation's outputs, as the validation steps hand them over
        source_val = collect_outputs(model.eval(), datamodule.val_dataloader())
    model.train()  # the feature extractor keeps its encoder in eval mode, the head trains
    before = {name: module.training for name, module in model.named_modules()}
    assert not before["encoder"] and before["head"]
    row = callback.evaluate_point(trainer, model, source_val)
    assert {name: module.training for name, module in model.named_modules()} == before
    assert torch.is_grad_enabled()
    assert row["entropy"] >= 0.0 and row["target/test/acc"] >= 0.0


def test_a_target_metric_as_selection_metric_is_refused() -> None:
    assert target_metric_name("source/val/macro_f1") == "target/test/macro_f1"
    with pytest.raises(ValueError, match="task.selection_metric"):
        ValidatorSelection([EntropyValidator()], "target/test/acc")


def test_the_table_travels_in_checkpoints_so_a_resumed_run_keeps_earlier_points() -> None:
    first = ValidatorSelection([SourceValValidator(), EntropyValidator()], "source/val/acc")
    first.points = [
        {"step": 5, "epoch": 0, "source_val": 0.7, "entropy": 0.4, "target/test/acc": 0.6},
        {"step": 10, "epoch": 0, "source_val": 0.6, "entropy": 0.3, "target/test/acc": 0.65},
    ]
    resumed = ValidatorSelection([SourceValValidator(), EntropyValidator()], "source/val/acc")
    resumed.load_state_dict(first.state_dict())
    assert resumed.summary() == first.summary()
    assert resumed.summary()["validators"]["entropy"]["step"] == 10
    # loading an earlier checkpoint (validate(ckpt_path="best") after fit) keeps the later points
    earlier = ValidatorSelection([SourceValValidator(), EntropyValidator()], "source/val/acc")
    earlier.points = first.points[:1]
    first.load_state_dict(earlier.state_dict())
    assert [p["step"] for p in first.points] == [5, 10]


@pytest.mark.parametrize("validator", ["entropy", "dev"])  # here: entropy picks step 2, dev step 4
def test_a_label_free_validator_can_choose_the_checkpoint(run_training, validator: str) -> None:
    record = run_training("strategy=dann", EVERY_TWO_STEPS, f"checkpoint_metric=selection/{validator}")
    selection = record["selection"]
    pick = selection["validators"][validator]
    assert selection["checkpoint_metric"] == f"selection/{validator}" and selection["score"] == pick["score"]
    assert f"step{pick['step']}" in Path(selection["checkpoint"]).name  # the lowest score: mode min
    # the reported metrics belong to that checkpoint: the target accuracy measured at its point
    assert record["metrics"]["target/test/acc"] == pytest.approx(pick["target/test/acc"], abs=1e-6)


def test_a_checkpoint_metric_must_be_source_validation_or_a_running_validator(run_training, tmp_path) -> None:
    cases = {
        "target": (["checkpoint_metric=target/test/acc"], "never on target data"),
        "off": (
            ["checkpoint_metric=selection/dev", "selection=none"],
            "checkpoint_metric=.*selection=default",
        ),
        "shared": (
            ["checkpoint_metric=selection/entropy", "evaluate_on=all_domains"],
            "needs a checkpoint chosen on source data",
        ),
    }
    for name, (overrides, message) in cases.items():
        with pytest.raises(ValueError, match=message):
            run_training(*overrides, output_dir=tmp_path / name)


def test_the_checkpoint_mode_follows_the_metric(tmp_path) -> None:
    def mode(metric: str) -> str:
        cfg = compose_config([*TINY_FAST, f"checkpoint_metric={metric}"], tmp_path)
        return cfg.callbacks.model_checkpoint.mode

    metrics = ("source/val/acc", "source/val/loss", "selection/entropy", "selection/source_val")
    modes = {metric: mode(metric) for metric in metrics}
    assert modes == {"source/val/acc": "max", "source/val/loss": "min", "selection/entropy": "min",
                    "selection/source_val": "max"}  # fmt: skip


class CountingFineTune(FineTuneModule):
    """Fine-tuning that counts its `outputs` calls (a real module; nothing is mocked)."""

    calls = 0

    def outputs(self, batch):  # type: ignore[no-untyped-def]
        CountingFineTune.calls += 1
        return super().outputs(batch)


def test_the_callback_reads_the_modules_outputs_and_never_runs_source_validation_again(tmp_path) -> None:
    import pytorch_lightning as pl

    from nlp_transfer.assembly import build_data_and_model

    strategy = f"strategy._target_={CountingFineTune.__module__}.CountingFineTune"
    overrides = [*TINY_FAST, "strategy=fine_tune", strategy, f"paths.cache_dir={tmp_path}"]
    datamodule, model = build_data_and_model(compose_config(overrides, tmp_path))
    validators = [SourceValValidator(), DEVValidator()]
    callback = ValidatorSelection(validators, "source/val/acc", target_unlabeled_size=16)
    trainer = pl.Trainer(
        max_steps=2, val_check_interval=1, limit_val_batches=2, num_sanity_val_steps=0, logger=False,
        enable_checkpointing=False, enable_progress_bar=False, callbacks=[callback],
    )  # fmt: skip
    CountingFineTune.calls = 0
    trainer.fit(model, datamodule=datamodule)
    loaders = datamodule.selection_dataloaders(16)
    per_point = 2 + len(loaders["target_unlabeled"]) + len(loaders["target_test"])  # val steps + target
    assert len(callback.points) == 2 and CountingFineTune.calls == 2 * per_point
    # source_val is the model's own logged metric, measured on the outputs the validation steps returned
    logged = {key: float(value) for key, value in trainer.callback_metrics.items()}
    assert callback.points[-1]["source_val"] == pytest.approx(logged["source/val/acc"])
    assert logged["selection/dev"] == pytest.approx(callback.points[-1]["dev"])
    source = Path(ValidatorSelection.__module__.replace(".", "/") + ".py")
    text = (Path(__file__).parents[2] / "src" / source).read_text()
    assert not any(word in text for word in ("cross_entropy", "pool(", "attention_mask", "softmax"))


def test_without_the_oracle_no_target_test_pass_is_made_and_the_picks_stand(run_training) -> None:
    record = run_training("strategy=fine_tune", EVERY_TWO_STEPS, "selection.oracle=false")
    selection = record["selection"]
    assert selection["oracle"] is None
    assert all("target/test/acc" not in point for point in selection["points"])
    assert set(selection["validators"]) == VALIDATOR_NAMES
    assert all(set(pick) == {"step", "score"} for pick in selection["validators"].values())
    assert record["metrics"]["target/test/acc"] is not None  # the final test is not the oracle: it stays


def test_a_capped_oracle_measures_the_first_examples_of_target_test(tmp_path) -> None:
    from nlp_transfer.assembly import build_data_and_model

    cfg = compose_config([*TINY_FAST, "strategy=fine_tune", f"paths.cache_dir={tmp_path}"], tmp_path)
    datamodule, _ = build_data_and_model(cfg)
    datamodule.setup("fit")
    full = datamodule.selection_dataloaders(16)["target_test"]
    capped = datamodule.selection_dataloaders(16, oracle_max_examples=5)["target_test"]
    assert len(capped.dataset) == 5 < len(full.dataset)
    first = [full.dataset[i]["input_ids"].tolist() for i in range(5)]
    assert sorted(first) == sorted(capped.dataset[i]["input_ids"].tolist() for i in range(5))
