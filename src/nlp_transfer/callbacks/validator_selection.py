"""Label-free model selection during training, with the oracle kept beside it (never used to choose).

At every validation point of `fit` this callback runs the model over three loaders of the DataModule
(`selection_dataloaders`): source validation (predictions, features, per-text losses), a slice of
unlabeled target train text (predictions and features, no labels exist there) and target test. Every
configured validator (`nlp_transfer.selection`) scores the point from the first two; the target test
metric is stored in the same row only to tell, after the fact, what each validator's pick is worth and
which point was best in hindsight (the oracle). At the end of fit, `summary()` holds the table, each
validator's pick and the oracle; train.py writes it into results.json under `selection`.

Token level (NER): a prediction row is a real (non-padding) token, so entropy and information
maximisation are averaged over tokens; DEV works on sentences (mean token features, mean loss over
labeled words). Costs one extra pass over source validation, the target slice and target test per point.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.trainer.states import TrainerFn
from torch.nn import functional as F

from nlp_transfer.selection.choice import choose
from nlp_transfer.selection.outputs import SplitOutputs
from nlp_transfer.selection.registry import build_validators
from nlp_transfer.selection.validator import ValidatorUndefined

IGNORE_INDEX = -100


def target_metric_name(selection_metric: str) -> str:
    """`source/val/acc` → `target/test/acc`: the oracle is measured in the task's own headline metric."""
    prefix = "source/val/"
    if not selection_metric.startswith(prefix):
        raise ValueError(
            f"selection_metric must be a source-validation metric ({prefix}<name>), got "
            f"{selection_metric!r}; set task.selection_metric, e.g. source/val/acc."
        )
    return "target/test/" + selection_metric[len(prefix) :]


def _to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {key: value.to(device) for key, value in batch.items()}


def gather_outputs(
    model: Any, batches: Iterable[dict[str, torch.Tensor]], labeled: bool, max_batches: int | None = None
) -> SplitOutputs:
    """Run `model.features` and `model.head` over batches; see `SplitOutputs` for what each row is."""
    probs, features, losses = [], [], []
    for index, batch in enumerate(batches):
        if max_batches is not None and index >= max_batches:
            break
        batch = _to_device(batch, model.device)
        hidden = model.features(batch)
        logits = model.head(hidden).float()
        if model.level == "token":
            mask = batch["attention_mask"].bool()
            probs.append(logits.softmax(dim=-1)[mask].cpu())
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            features.append(((hidden * weights).sum(1) / weights.sum(1).clamp_min(1.0)).float().cpu())
            if labeled:
                labels = batch["labels"]
                token_loss = F.cross_entropy(
                    logits.transpose(1, 2), labels, ignore_index=IGNORE_INDEX, reduction="none"
                )
                counted = (labels != IGNORE_INDEX).sum(dim=1)
                sentence_loss = token_loss.sum(dim=1) / counted.clamp_min(1)
                losses.append(torch.where(counted > 0, sentence_loss, torch.nan).cpu())
        else:
            probs.append(logits.softmax(dim=-1).cpu())
            features.append(hidden.float().cpu())
            if labeled:
                losses.append(F.cross_entropy(logits, batch["labels"], reduction="none").cpu())
    if not probs:
        raise ValueError("no batches to evaluate for model selection: the loader is empty")
    return SplitOutputs(torch.cat(probs), torch.cat(features), torch.cat(losses) if labeled else None)


def measure_metric(model: Any, batches: Iterable[dict[str, torch.Tensor]], key: str) -> float:
    """The task's metric `key` (acc, macro_f1, f1) on labeled batches.

    A fresh copy of the model's own metric (the one behind `source/val/*` and `target/test/*`), so the
    oracle's numbers are computed exactly as the reported ones.
    """
    metric = model.val_metrics.clone()
    metric.reset()
    for batch in batches:
        batch = _to_device(batch, model.device)
        metric.update(model(batch).argmax(dim=-1), batch["labels"])
    return float(metric.compute()[key])


class ValidatorSelection(pl.Callback):
    """Scores every validation point of fit with label-free validators; the target metric rides along.

    Args:
        validators: names from `nlp_transfer.selection.VALIDATORS`, e.g. [source_val, entropy, info_max, dev].
        selection_metric: the task's source-validation metric (what `source_val` reads); its
            `target/test/...` twin is recorded for the oracle.
        target_unlabeled_size: how many unlabeled target train texts the validators see.
        options: per-validator constructor arguments, e.g. {dev: {l2: 0.1}}.
        log_scores: also send each score to the loggers as `selection/<validator>`.
    """

    def __init__(
        self,
        validators: list[str],
        selection_metric: str,
        target_unlabeled_size: int = 512,
        options: dict[str, dict[str, Any]] | None = None,
        log_scores: bool = True,
    ) -> None:
        if target_unlabeled_size <= 0:
            raise ValueError(f"selection.target_unlabeled_size must be positive, got {target_unlabeled_size}")
        self.validators = build_validators(list(validators), options)
        self.selection_metric = selection_metric
        self.target_metric = target_metric_name(selection_metric)
        self.target_unlabeled_size = target_unlabeled_size
        self.log_scores = log_scores
        self.points: list[dict[str, Any]] = []
        self.skipped: dict[str, str] = {}

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        datamodule = trainer.datamodule
        if stage == "fit" and not hasattr(datamodule, "selection_dataloaders"):
            raise TypeError(
                f"ValidatorSelection needs a DataModule with selection_dataloaders() "
                f"(nlp_transfer.data.transfer_datamodule.TransferDataModule), got "
                f"{type(datamodule).__name__}; or turn it off with selection=none."
            )

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # only validation points of fit: not the sanity check, not trainer.validate() after training
        if trainer.sanity_checking or trainer.state.fn != TrainerFn.FITTING:
            return
        row = self.evaluate_point(trainer, pl_module)
        self.points.append(row)
        # ModelCheckpoint runs after this callback (Lightning orders checkpoint callbacks last): with
        # checkpoint_metric=selection/<name> it monitors these; NaN (undefined) counts as the worst score
        for validator in self.validators:
            score = row[validator.name]
            trainer.callback_metrics[f"selection/{validator.name}"] = torch.tensor(
                float("nan") if score is None else float(score)
            )
        if self.log_scores:
            scores = {f"selection/{v.name}": row[v.name] for v in self.validators if row[v.name] is not None}
            for logger in trainer.loggers:
                logger.log_metrics(scores, step=trainer.global_step)

    def evaluate_point(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> dict[str, Any]:
        """One table row: step, epoch, each validator's score (None if undefined) and the target metric."""
        loaders = trainer.datamodule.selection_dataloaders(self.target_unlabeled_size)
        val_batches = trainer.num_val_batches[0] if trainer.num_val_batches else None
        val_batches = int(val_batches) if val_batches is not None and math.isfinite(val_batches) else None
        modes = {module: module.training for module in pl_module.modules()}
        pl_module.eval()
        try:
            with torch.inference_mode(), trainer.precision_plugin.forward_context():
                source_val = gather_outputs(
                    pl_module, loaders["source_val"], labeled=True, max_batches=val_batches
                )
                target_unlabeled = gather_outputs(pl_module, loaders["target_unlabeled"], labeled=False)
                target_value = measure_metric(
                    pl_module, loaders["target_test"], self.target_metric.rsplit("/", 1)[-1]
                )
        finally:
            for module, training in modes.items():
                module.train(training)
        source_metric = trainer.callback_metrics.get(self.selection_metric)
        inputs = {
            "source_val": source_val,
            "target_unlabeled": target_unlabeled,
            "source_val_metric": None if source_metric is None else float(source_metric),
        }
        row: dict[str, Any] = {"step": trainer.global_step, "epoch": trainer.current_epoch}
        for validator in self.validators:
            try:
                if any(inputs[need] is None for need in validator.needs):
                    missing = [need for need in validator.needs if inputs[need] is None]
                    raise ValidatorUndefined(f"{validator.name} has no {missing} at this point")
                row[validator.name] = validator(**{need: inputs[need] for need in validator.needs})
            except ValidatorUndefined as reason:
                row[validator.name] = None
                self.skipped[validator.name] = str(reason)
        row[self.target_metric] = target_value
        return row

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
