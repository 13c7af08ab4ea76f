"""The shared LightningModule every strategy builds on.

It owns what all strategies share: encoder → pooling → head, the source-only step, metrics
and their log names (`source/val/acc`, `target/test/macro_f1`, ...), and the optimizer. A
strategy file adds only its idea (freeze the encoder, add an adversarial loss, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import pytorch_lightning as pl
import torch
from torch import nn
from torch.nn import functional as F
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

from nlp_transfer.models.backbone import hidden_size
from nlp_transfer.models.pooling import pool
from nlp_transfer.strategies.optimization import decay_groups

Batch = dict[str, torch.Tensor]
DEFAULT_TEST_SPLITS = ("source/test", "target/test")


def classification_metrics(num_labels: int, prefix: str) -> MetricCollection:
    """Accuracy (micro) and macro-F1, logged as `<prefix>acc` and `<prefix>macro_f1`."""
    return MetricCollection(
        {
            "acc": MulticlassAccuracy(num_classes=num_labels, average="micro"),
            "macro_f1": MulticlassF1Score(num_classes=num_labels, average="macro"),
        },
        prefix=prefix,
    )


class TransferModule(pl.LightningModule):
    """Encoder + pooled classification head, trained on labeled source batches.

    Args:
        encoder: a Hugging Face encoder (passed in, built by the backbone config).
        num_labels: size of the task's label set.
        head: factory `head(in_features=..., num_labels=...)` for the classification head.
        optimizer: factory `optimizer(param_groups)` (a `_partial_` in config).
        scheduler: optional factory `scheduler(optimizer, total_steps=...)`, stepped every batch.
        pooling: `cls` or `mean` pooling of the last hidden layer.
        weight_decay: decay for weights (biases and norm scales are never decayed).
    """

    #: whether the strategy trains on unlabeled target text (the DataModule is told by train.py)
    uses_target_data: ClassVar[bool] = False

    def __init__(
        self,
        encoder: nn.Module,
        num_labels: int,
        head: Callable[..., nn.Module],
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., Any] | None = None,
        pooling: str = "cls",
        weight_decay: float = 0.01,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["encoder", "head", "optimizer", "scheduler", "discriminator"])
        self.encoder = encoder.train()  # `from_pretrained` returns eval mode: dropout would be off
        self.head = head(in_features=hidden_size(encoder), num_labels=num_labels)
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.pooling = pooling
        self.weight_decay = weight_decay
        self.val_metrics = classification_metrics(num_labels, "source/val/")
        self.test_metrics = nn.ModuleList(
            classification_metrics(num_labels, f"{name}/") for name in DEFAULT_TEST_SPLITS
        )

    # ----------------------------------------------------------------- forward
    def features(self, batch: Batch) -> torch.Tensor:
        """Pooled sequence features (batch, hidden) from the encoder."""
        output = self.encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        return pool(output.last_hidden_state, batch["attention_mask"], self.pooling)

    def forward(self, batch: Batch) -> torch.Tensor:
        """Class logits (batch, num_labels)."""
        return self.head(self.features(batch))

    def model_step(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One supervised step on a labeled batch: (loss, predictions, targets)."""
        logits = self(batch)
        loss = F.cross_entropy(logits, batch["labels"])
        return loss, logits.argmax(dim=-1), batch["labels"]

    # ----------------------------------------------------------------- training
    def on_train_epoch_start(self) -> None:
        # Lightning keeps each submodule's mode, so a module left in eval mode (by `from_pretrained`
        # or by user code) would fine-tune with dropout off; make every epoch start in train mode.
        self.train()

    def training_step(self, batch: dict[str, Batch], batch_idx: int) -> torch.Tensor:
        loss, _, _ = self.model_step(batch["source"])
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["source"]["labels"]))
        return loss

    @property
    def progress(self) -> float:
        """Training progress p ∈ [0, 1] (global step over the planned number of steps)."""
        total = self.trainer.estimated_stepping_batches if self._trainer is not None else 0
        if not total or total == float("inf"):
            return 0.0
        return min(1.0, self.global_step / total)

    # ----------------------------------------------------------------- evaluation
    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        loss, preds, targets = self.model_step(batch)
        self.val_metrics.update(preds, targets)
        self.log("source/val/loss", loss, batch_size=len(targets))
        self.log_dict(self.val_metrics, prog_bar=True, batch_size=len(targets))

    def test_step(self, batch: Batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        loss, preds, targets = self.model_step(batch)
        metrics = self.test_metrics[dataloader_idx]
        metrics.update(preds, targets)
        name = DEFAULT_TEST_SPLITS[dataloader_idx]
        self.log(f"{name}/loss", loss, batch_size=len(targets), add_dataloader_idx=False)
        self.log_dict(metrics, batch_size=len(targets), add_dataloader_idx=False)

    # ----------------------------------------------------------------- optimisation
    def configure_optimizers(self) -> Any:
        optimizer = self.optimizer_factory(decay_groups(self.named_parameters(), self.weight_decay))
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer, total_steps=self.trainer.estimated_stepping_batches)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def trainable_parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)
