"""Label-free model selection during training, with the oracle kept beside it (never used to choose).

At every validation point of `fit` this callback gathers the model's outputs (`TransferModule.outputs`,
strategies/outputs.py) on three splits: source validation (as the validation steps return them, so it is
not run twice), a slice of unlabeled target train text and target test (from the DataModule's
`selection_dataloaders`). Every configured validator (`nlp_transfer.selection`, the `_target_` entries of
conf/selection/) gets the inputs its `__call__` names; the target test metric is stored in the same row
only to tell, after the fact, what each validator's pick is worth and which point was best in hindsight
(the oracle). Scores are logged as `selection/<name>` in `on_validation_epoch_end`, which Lightning runs
before any `on_validation_end`, so ModelCheckpoint can monitor them. At the end of fit `summary()` holds
the table, each validator's pick and the oracle; train.py writes it into results.json under `selection`.

The callback computes no features, pooling or losses itself: token-level rows, per-text features and
per-text losses all come from `ModelOutputs`. Costs one extra pass over the target slice (only when a
validator reads it) and one over target test (only for the oracle: `oracle: false` skips it, and
`oracle_max_examples` caps it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.trainer.states import TrainerFn

from nlp_transfer.distributed import gathered
from nlp_transfer.selection.catalog import check_validators
from nlp_transfer.selection.choice import choose
from nlp_transfer.selection.validator import Validator, ValidatorUndefined
from nlp_transfer.strategies.outputs import ModelOutputs


def target_metric_name(selection_metric: str) -> str:
    """`source/val/acc` → `target/test/acc`: the oracle is measured in the task's own headline metric."""
    prefix = "source/val/"
    if not selection_metric.startswith(prefix):
        raise ValueError(
            f"selection_metric must be a source-validation metric ({prefix}<name>), got "
            f"{selection_metric!r}; set task.selection_metric, e.g. source/val/acc."
        )
    return "target/test/" + selection_metric[len(prefix) :]


def collect_outputs(model: Any, batches: Iterable[dict[str, torch.Tensor]]) -> list[ModelOutputs]:
    """`model.outputs` on every batch, kept on the CPU (the caller sets eval mode and inference mode)."""
    collected = []
    for batch in batches:
        batch = {key: value.to(model.device) for key, value in batch.items()}
        collected.append(model.outputs(batch).detached_cpu())
    return collected


def measure_metric(model: Any, outputs: Sequence[ModelOutputs], key: str) -> float:
    """The task's metric `key` (acc, macro_f1, f1) on labeled batches' outputs.

    A fresh copy of the model's own metric (the one behind `source/val/*` and `target/test/*`), so the
    numbers are computed exactly as the reported ones.
    """
    metric = model.val_metrics.clone().cpu()
    metric.reset()
    for batch_outputs in outputs:
        metric.update(*batch_outputs.metric_inputs())
    return float(metric.compute()[key])


class ValidatorSelection(pl.Callback):
    """Scores every validation point of fit with label-free validators; the target metric rides along.

    Args:
        validators: `Validator` objects (the config's `_target_` entries, built by Hydra).
        selection_metric: the task's source-validation metric (what `source_val_metric` holds); its
            `target/test/...` twin is recorded for the oracle.
        target_unlabeled_size: how many unlabeled target train texts the validators see.
        log_scores: also send each score to the loggers as `selection/<validator>` (ModelCheckpoint and
            the results see it either way).
        oracle: measure the target test metric at every point (the oracle row and each pick's worth);
            off, no target test pass is made during fit (the picks are then reported without it).
        oracle_max_examples: measure it on the first N target test examples only (None: all).
    """

    def __init__(
        self,
        validators: Sequence[Validator],
        selection_metric: str,
        target_unlabeled_size: int = 512,
        log_scores: bool = True,
        oracle: bool = True,
        oracle_max_examples: int | None = None,
    ) -> None:
        if target_unlabeled_size <= 0:
            raise ValueError(f"selection.target_unlabeled_size must be positive, got {target_unlabeled_size}")
        self.validators = check_validators(validators)
        self.selection_metric = selection_metric
        self.target_metric = target_metric_name(selection_metric)
        self.target_unlabeled_size = target_unlabeled_size
        self.log_scores = log_scores
        self.oracle = oracle
        self.oracle_max_examples = oracle_max_examples
        self.points: list[dict[str, Any]] = []
        self.skipped: dict[str, str] = {}
        self._source_val: list[ModelOutputs] | None = None  # this validation point's, while it runs

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        datamodule = trainer.datamodule
        if stage == "fit" and not hasattr(datamodule, "selection_dataloaders"):
            raise TypeError(
                f"ValidatorSelection needs a DataModule with selection_dataloaders() "
                f"(nlp_transfer.data.transfer_datamodule.TransferDataModule), got "
                f"{type(datamodule).__name__}; or turn it off with selection=none."
            )
        if stage == "fit" and not callable(getattr(pl_module, "outputs", None)):
            raise TypeError(
                f"ValidatorSelection needs a module with outputs(batch) (TransferModule), got "
                f"{type(pl_module).__name__}; or turn it off with selection=none."
            )

    @staticmethod
    def _is_point(trainer: pl.Trainer) -> bool:
        """Only validation points of fit: not the sanity check, not trainer.validate() after training."""
        return not trainer.sanity_checking and trainer.state.fn == TrainerFn.FITTING

    def on_validation_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._source_val = [] if self._is_point(trainer) else None

    def on_validation_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:  # fmt: skip
        if self._source_val is None:
            return
        if not isinstance(outputs, ModelOutputs):
            raise TypeError(
                f"{type(pl_module).__name__}.validation_step must return self.outputs(batch) (ModelOutputs) "
                f"for the label-free validators; it returned {type(outputs).__name__}"
            )
        self._source_val.append(outputs.detached_cpu())

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._source_val is None:
            return
        source_val, self._source_val = gathered(self._source_val), None
        row = self.evaluate_point(trainer, pl_module, source_val)
        self.points.append(row)
        # every rank holds the same scores; NaN (undefined) is the worst score for ModelCheckpoint
        for validator in self.validators:
            score = row[validator.name]
            pl_module.log(
                f"selection/{validator.name}", float("nan") if score is None else float(score),
                logger=self.log_scores and score is not None and bool(trainer.loggers),
            )  # fmt: skip

    def evaluate_point(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, source_val: list[ModelOutputs]
    ) -> dict[str, Any]:
        """One table row from source-validation outputs: step, epoch, each validator's score (None if
        undefined) and the target metric."""
        needs = {need for validator in self.validators for need in validator.needs()}
        outputs = self._encode_target(trainer, pl_module, with_unlabeled="target_unlabeled" in needs)
        metric_key = self.selection_metric.rsplit("/", 1)[-1]
        inputs = {
            "source_val": ModelOutputs.cat(source_val),
            "source_val_metric": measure_metric(pl_module, source_val, metric_key),
        }
        if "target_unlabeled" in outputs:
            inputs["target_unlabeled"] = ModelOutputs.cat(outputs["target_unlabeled"])
        row: dict[str, Any] = {"step": trainer.global_step, "epoch": trainer.current_epoch}
        for validator in self.validators:
            try:
                row[validator.name] = float(validator(**{need: inputs[need] for need in validator.needs()}))
            except ValidatorUndefined as reason:
                row[validator.name] = None
                self.skipped[validator.name] = str(reason)
        if "target_test" in outputs:
            row[self.target_metric] = measure_metric(pl_module, outputs["target_test"], metric_key)
        return row

    def _encode_target(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, with_unlabeled: bool
    ) -> dict[str, list[ModelOutputs]]:
        """The model's outputs on the target splits this point needs: the unlabeled slice only when a
        validator reads it, target test only for the oracle. Nothing is encoded twice."""
        datamodule = trainer.datamodule
        loaders = datamodule.selection_dataloaders(self.target_unlabeled_size, self.oracle_max_examples)
        wanted = {"target_unlabeled": with_unlabeled, "target_test": self.oracle}
        modes = {module: module.training for module in pl_module.modules()}
        pl_module.eval()
        try:
            with torch.inference_mode(), trainer.precision_plugin.forward_context():
                return {name: collect_outputs(pl_module, loaders[name]) for name, on in wanted.items() if on}
        finally:
            for module, training in modes.items():
                module.train(training)

    def state_dict(self) -> dict[str, Any]:
        """Saved in every checkpoint, so a resumed run (ckpt_path=...) keeps the points before it."""
        return {"points": list(self.points), "skipped": dict(self.skipped)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Merge by step: Lightning also restores callbacks when `trainer.validate(ckpt_path="best")` loads
        an earlier checkpoint after fit, and that must not drop the points that came after it."""
        merged = {point["step"]: point for point in state_dict.get("points", [])}
        merged.update({point["step"]: point for point in self.points})
        self.points = [merged[step] for step in sorted(merged)]
        self.skipped = {**dict(state_dict.get("skipped", {})), **self.skipped}

    record_section = "selection"  # results.RecordSection: summary() joins the record's `selection`

    def summary(self) -> dict[str, Any]:
        """For results.json: each validator's pick, the oracle, the per-point table and skip reasons."""
        picks = choose(self.points, self.validators, self.target_metric)
        return {
            "target_metric": self.target_metric,
            "validators": picks["validators"],
            "oracle": picks["oracle"],
            "points": list(self.points),
            "skipped": {
                name: reason for name, reason in self.skipped.items() if name not in picks["validators"]
            },
            "directions": {v.name: "max" if v.higher_is_better else "min" for v in self.validators},
        }
