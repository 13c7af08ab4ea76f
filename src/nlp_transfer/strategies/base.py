"""The shared LightningModule every strategy builds on.

It owns what all strategies share: encoder → features → head, the supervised step, metrics and
their log names (`source/val/acc`, `target/test/macro_f1`, `target/test/f1` for NER, ...), and
the optimizer. A strategy file adds only its idea (freeze the encoder, add an adversarial loss, ...).

Every task level uses the same code: what differs between `sequence` (one label per text) and `token`
(one label per word) is asked of the level object (strategies/task_level.py), never tested by name.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytorch_lightning as pl
import torch
from torch import nn
from torch.nn import functional as F
from torchmetrics import Metric, MetricCollection

from nlp_transfer.checkpoint_identity import IDENTITY_KEY, check_identity
from nlp_transfer.models.backbone import hidden_size
from nlp_transfer.results.predictions import PREDICTIONS_DIR
from nlp_transfer.strategies.optimization import clip_gradients, decay_groups, steps_own_scaling
from nlp_transfer.strategies.outputs import IGNORE_INDEX, ModelOutputs
from nlp_transfer.strategies.task_level import TaskLevel, task_level
from nlp_transfer.strategies.test_predictions import TestPredictions

Batch = dict[str, torch.Tensor]
TEST_SPLITS = ("source/test", "target/test")  # the default; a DataModule may name others (test_split_names)


def task_metrics(label_names: list[str], level: str | TaskLevel) -> Metric | MetricCollection:
    """A fresh metric of the level (strategies/task_level.py) for one split."""
    return task_level(level).metrics(label_names)


class TransferModule(pl.LightningModule):
    """Encoder + task head, trained on labeled source batches.

    Args:
        encoder: a Hugging Face encoder (passed in, built by the backbone config).
        label_names: the task's labels in id order (from the DataModule).
        head: factory `head(in_features=..., num_labels=...)` for the task head.
        optimizer: factory `optimizer(param_groups)` (a `_partial_` in config).
        scheduler: optional factory `scheduler(optimizer, total_steps=...)`, stepped every batch.
        pooling: `cls` or `mean` pooling of the last hidden layer (sequence level only).
        weight_decay: decay for weights (biases and norm scales are never decayed).
        level: the task level's name (`sequence`, `token`), given by the task's DataModule.
    """

    #: whether the strategy trains on unlabeled target text (the DataModule is told by train.py)
    uses_target_data: ClassVar[bool] = False
    #: token level: whether domain-loss rows are words (each word's first sub-token, the rows the
    #: supervised loss trains) rather than every real token; a loss on the classifier's predictions sets it
    word_rows: ClassVar[bool] = False

    def __init__(
        self,
        encoder: nn.Module,
        label_names: list[str],
        head: Callable[..., nn.Module],
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., Any] | None = None,
        pooling: str = "cls",
        weight_decay: float = 0.01,
        level: str = "sequence",
    ) -> None:
        super().__init__()
        self.task_level = task_level(level)  # the object behind the name (strategies/task_level.py)
        self.save_hyperparameters(ignore=["encoder", "head", "optimizer", "scheduler", "discriminator"])
        self.encoder = encoder.train()  # `from_pretrained` returns eval mode: dropout would be off
        self.label_names = list(label_names)
        self.level = level
        self.head = head(in_features=hidden_size(encoder), num_labels=len(self.label_names))
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.pooling = pooling
        self.weight_decay = weight_decay
        self.val_metrics = self.task_level.metrics(self.label_names)
        self.test_splits = TEST_SPLITS
        self.test_metrics = nn.ModuleList(self.task_level.metrics(self.label_names) for _ in TEST_SPLITS)
        self._updated: set[str] = set()  # which metric prefixes saw data this epoch
        self._base_seed = torch.initial_seed()  # set by seed_everything before the model is built
        #: the task and backbone names, set by whoever builds the module from a config (assembly)
        self.run_names: dict[str, str | None] = {"task": None, "backbone": None}
        #: where test predictions go (None: `<trainer.default_root_dir>/predictions`); see test_predictions.py
        self.predictions_dir: str | None = None
        self._test_predictions: TestPredictions | None = None

    # ----------------------------------------------------------------- checkpoint identity
    def checkpoint_identity(self) -> dict[str, Any]:
        """What this module is, stored in its checkpoints and checked against a checkpoint before loading."""
        return {
            "strategy": f"{type(self).__module__}.{type(self).__qualname__}",
            "task": self.run_names.get("task"),
            "level": self.level,
            "label_names": list(self.label_names),
            "backbone": self.run_names.get("backbone"),
        }

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[IDENTITY_KEY] = self.checkpoint_identity()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Lightning calls this before restoring any state (fit/validate/test with a ckpt_path)."""
        path = self._trainer.ckpt_path if self._trainer is not None else None
        check_identity(checkpoint, self.checkpoint_identity(), path)

    # ----------------------------------------------------------------- forward
    def features(self, batch: Batch) -> torch.Tensor:
        """(batch, hidden) pooled features, or (batch, seq, hidden) token features at token level."""
        hidden = self.encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        hidden = hidden.last_hidden_state
        return self.task_level.features(hidden, batch["attention_mask"], self.pooling)

    def domain_mask(self, batch: Batch) -> torch.Tensor:
        """(batch, seq) which positions become domain-loss rows (`TaskLevel.row_mask`, `word_rows`)."""
        return self.task_level.row_mask(batch, words=self.word_rows)

    def domain_features(self, features: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Rows for a domain loss: one per text, or at token level one per real (non-padding) token, or
        one per word (its first sub-token) for a strategy with `word_rows`."""
        return self.task_level.rows(features, self.domain_mask(batch))

    def forward(self, batch: Batch) -> torch.Tensor:
        """Logits: (batch, num_labels), or (batch, seq, num_labels) at token level."""
        return self.head(self.features(batch))

    def outputs(self, batch: Batch) -> ModelOutputs:
        """Everything evaluation reads about a batch, computed once: logits, features, per-row losses,
        labels and the token mask (see strategies/outputs.py). Validation, test and the label-free
        validators all call this; a strategy that changes how a batch becomes outputs overrides it."""
        features = self.features(batch)
        return ModelOutputs.from_batch(features, self.head(features), batch, self.task_level)

    def supervised_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Cross-entropy over texts or over labeled tokens (IGNORE_INDEX positions skipped)."""
        return F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=IGNORE_INDEX
        )

    def loss_count(self, labels: torch.Tensor) -> int:
        """What a batch's mean loss averages over: texts, or labeled tokens at token level. Weighting each
        batch by it makes the epoch's loss the mean over the split, whatever the batches (length-sorted)."""
        return self.task_level.loss_count(labels)

    def model_step(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One supervised step on a labeled batch: (loss, predictions, targets)."""
        logits = self(batch)
        return self.supervised_loss(logits, batch["labels"]), logits.argmax(dim=-1), batch["labels"]

    # ----------------------------------------------------------------- training
    def on_train_epoch_start(self) -> None:
        # Lightning keeps each submodule's mode, so a module left in eval mode (by `from_pretrained`
        # or by user code) would fine-tune with dropout off; make every epoch start in train mode.
        self.train()
        # Dropout draws from the global RNG; seeding it per epoch makes a run resumed at an epoch
        # boundary draw exactly what the uninterrupted run draws (Lightning does not restore RNG state).
        torch.manual_seed(self._base_seed + self.current_epoch)

    def training_step(self, batch: dict[str, Batch], batch_idx: int) -> torch.Tensor:
        loss, _, _ = self.model_step(batch["source"])
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["source"]["input_ids"]))
        return loss

    @property
    def progress(self) -> float:
        """Training progress p ∈ [0, 1] (global step over the planned number of steps)."""
        total = self.trainer.estimated_stepping_batches if self._trainer is not None else 0
        if not total or total == float("inf"):
            return 0.0
        return min(1.0, self.global_step / total)

    # ----------------------------------------------------------------- evaluation
    def validation_step(self, batch: Batch, batch_idx: int) -> ModelOutputs:
        """Metrics and loss of a source-validation batch; returns the outputs, so callbacks (label-free
        validators) read them in `on_validation_batch_end` instead of running the model again."""
        outputs = self.outputs(batch)
        self.val_metrics.update(*outputs.metric_inputs())
        self._updated.add("source/val")
        size = self.loss_count(batch["labels"])  # labeled rows: epoch mean = split mean
        self.log("source/val/loss", outputs.mean_loss(), batch_size=size, sync_dist=True)  # mean over ranks
        return outputs

    def on_validation_epoch_end(self) -> None:
        self._log_computed("source/val", self.val_metrics)

    def on_test_start(self) -> None:
        """One metric per test loader, named as the DataModule names its test splits (e.g. every domain)."""
        splits = tuple(getattr(self.trainer.datamodule, "test_split_names", TEST_SPLITS))
        if splits != self.test_splits:
            self.test_splits = splits
            self.test_metrics = nn.ModuleList(self.task_level.metrics(self.label_names) for _ in splits)
            self.test_metrics.to(self.device)
        self._test_predictions = TestPredictions(self.trainer, self.task_level)

    def test_step(self, batch: Batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        outputs = self.outputs(batch)
        self.test_metrics[dataloader_idx].update(*outputs.metric_inputs())
        if self._test_predictions is not None:
            self._test_predictions.add(dataloader_idx, outputs)
        split = self.test_splits[dataloader_idx]
        self._updated.add(split)
        self.log(
            f"{split}/loss", outputs.mean_loss(), batch_size=self.loss_count(batch["labels"]),
            add_dataloader_idx=False, sync_dist=True,
        )  # fmt: skip

    def on_test_epoch_end(self) -> None:
        for name, metric in zip(self.test_splits, self.test_metrics, strict=True):
            self._log_computed(name, metric)
        if self._test_predictions is not None:
            out_dir = self.predictions_dir or Path(self.trainer.default_root_dir) / PREDICTIONS_DIR
            self._test_predictions.write(self, Path(out_dir))
            self._test_predictions = None

    def _log_computed(self, prefix: str, metric: Metric | MetricCollection) -> None:
        """Log `prefix/<metric>`; a per-class vector becomes `prefix/<metric>/<label>`."""
        if prefix not in self._updated:
            return
        self._updated.discard(prefix)
        for key, value in metric.compute().items():
            if value.numel() > 1:
                for label, item in zip(self.label_names, value, strict=True):
                    self.log(f"{prefix}/{key}/{label}", item, add_dataloader_idx=False)
            else:
                self.log(f"{prefix}/{key}", value, prog_bar=key in ("acc", "f1"), add_dataloader_idx=False)
        metric.reset()

    # ----------------------------------------------------------------- optimisation
    def configure_optimizers(self) -> Any:
        optimizer = self.optimizer_factory(decay_groups(self.named_parameters(), self.weight_decay))
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer, total_steps=self.trainer.estimated_stepping_batches)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def configure_gradient_clipping(
        self,
        optimizer: torch.optim.Optimizer,
        gradient_clip_val: float | None = None,
        gradient_clip_algorithm: str | None = None,
    ) -> None:
        """Lightning's clipping, also for the default fused AdamW (optimization.clip_gradients)."""
        if not steps_own_scaling(optimizer):
            super().configure_gradient_clipping(optimizer, gradient_clip_val, gradient_clip_algorithm)
            return
        scaler = getattr(self.trainer.precision_plugin, "scaler", None)
        clip_gradients(optimizer, gradient_clip_val, gradient_clip_algorithm, scaler)

    def trainable_parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)
