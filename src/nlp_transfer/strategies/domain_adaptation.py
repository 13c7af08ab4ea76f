"""What every unsupervised domain-adaptation strategy shares (DANN, CDAN, MMD, CORAL).

Each step takes a labeled source batch and an unlabeled target batch, encodes both, and trains on

    loss = CE(source labels) + w(p) · domain_loss,   w(p) = domain_loss_weight · warmup(p)

over training progress p ∈ [0, 1], with the warm-up `ganin` (2/(1+e^{−γp}) − 1), `linear` (p) or
`constant` (1). A subclass supplies only `domain_loss`: the method's idea. Target batches must carry no
labels; a batch that does stops training (`TargetLabelLeakError`).

Rows for the domain loss: one per text, or at token level (NER) one per real token, padding masked
out (`TransferModule.domain_features`), or one per word (its first sub-token) for a strategy that sets
`word_rows`: those whose loss reads the classifier's predictions (MCC, BNM, CDAN, self-training), which
are trained and scored on words only; feature alignment (DANN, MMD, CORAL) keeps every real token. Rows are
optionally subsampled to `max_domain_rows` per domain to bound the cost of pairwise losses
such as MMD (O(n²) kernel).

A step with fewer rows than the loss needs (`min_domain_rows`, e.g. a last batch of one text for CORAL)
skips the domain loss. Such steps are counted and logged (`train/domain_loss_skipped`); a run that skipped
it on more than `MAX_SKIPPED_SHARE` of its steps fails at the end of training (`DomainLossSkippedError`):
it was mostly plain fine-tuning under a domain-adaptation name. A batch size that would skip every step
is refused before training (`nlp_transfer.preflight`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import torch

from nlp_transfer.adaptation.schedules import check_warmup, warmup_factor
from nlp_transfer.strategies.base import Batch, TransferModule

log = logging.getLogger(__name__)

#: the largest share of training steps that may skip the domain loss before the run fails
MAX_SKIPPED_SHARE = 0.1


@dataclass(frozen=True)
class DomainRows:
    """What a domain loss sees of one step: matching feature and logit rows of each domain (one per text,
    or per real token, or per word with `word_rows`), and the batches they came from."""

    source_features: torch.Tensor
    target_features: torch.Tensor
    source_logits: torch.Tensor
    target_logits: torch.Tensor
    source_batch: Batch
    target_batch: Batch
    #: (source rows,) which pooled source each source row comes from (multi-source runs; else None)
    source_origin: torch.Tensor | None = None


class TargetLabelLeakError(RuntimeError):
    """A training batch of target data carried labels: unsupervised adaptation must never see them."""


class DomainLossSkippedError(RuntimeError):
    """Too many training steps had too few rows for the domain loss: the run did not adapt as claimed."""


class DomainAdaptationModule(TransferModule):
    """Encoder + head trained on source labels plus a domain loss between source and target rows.

    Args (beyond `TransferModule`):
        domain_loss_weight: the final weight of the domain loss.
        warmup: `ganin`, `linear` or `constant`: how the weight rises over training progress.
        warmup_gamma: γ of the `ganin` warm-up (10 in Ganin et al. 2016).
        max_domain_rows: at most this many rows per domain reach the domain loss (a random subset,
            drawn from the seeded global RNG); None keeps all.

    Raises:
        ValueError: an unknown warm-up, or a non-positive `max_domain_rows`.
    """

    uses_target_data = True
    #: rows each domain needs for `domain_loss` to be defined; a step with fewer skips the domain loss
    min_domain_rows: int = 1

    def __init__(
        self,
        *args: Any,
        domain_loss_weight: float = 1.0,
        warmup: str = "constant",
        warmup_gamma: float = 10.0,
        max_domain_rows: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        check_warmup(warmup)
        if max_domain_rows is not None and max_domain_rows < 1:
            raise ValueError(f"max_domain_rows must be a positive count or null, got {max_domain_rows}")
        self.domain_loss_weight = domain_loss_weight
        self.warmup = warmup
        self.warmup_gamma = warmup_gamma
        self.max_domain_rows = max_domain_rows
        #: training steps of this fit, and those whose domain loss was skipped for want of rows
        self.domain_steps = 0
        self.skipped_domain_steps = 0

    def domain_loss(self, rows: DomainRows) -> tuple[torch.Tensor, dict[str, float | torch.Tensor]]:
        """The method's loss on (rows, d) features and (rows, classes) logits; returns (loss, extra logs).

        Extra logs are logged under `train/<name>`.
        """
        raise NotImplementedError

    def domain_weight(self) -> float:
        """w(p) = domain_loss_weight · warmup(p) at the current training progress."""
        return self.domain_loss_weight * warmup_factor(self.progress, self.warmup, self.warmup_gamma)

    def domain_rows(
        self, features: torch.Tensor, logits: torch.Tensor, batch: Batch
    ) -> tuple[torch.Tensor, ...]:
        """Matching rows of features and logits (one per text, real token or word), subsampled if too many;
        with a third, each row's source index, when the batch pools several sources (`source_index`)."""
        columns = [self.domain_features(features, batch), self.domain_features(logits, batch)]
        if "source_index" in batch:  # (batch,) → one per row: the source of the text each row belongs to
            columns.append(batch["source_index"][self.task_level.row_examples(self.domain_mask(batch))])
        if self.max_domain_rows is not None and len(columns[0]) > self.max_domain_rows:
            keep = torch.randperm(len(columns[0]), device=features.device)[: self.max_domain_rows]
            columns = [column[keep] for column in columns]
        return tuple(columns)

    def training_step(self, batch: dict[str, Batch], batch_idx: int) -> torch.Tensor:
        source, target = batch["source"], batch["target"]
        if "labels" in target:
            raise TargetLabelLeakError(
                f"{type(self).__name__} received target labels in a training batch; refusing to train. "
                "The target's training split must be built unlabeled (`with_target_unlabeled`)."
            )
        source_features, target_features = self.features(source), self.features(target)
        source_logits, target_logits = self.head(source_features), self.head(target_features)
        class_loss = self.supervised_loss(source_logits, source["labels"])

        source_rows, source_row_logits, *origin = self.domain_rows(source_features, source_logits, source)
        target_rows, target_row_logits = self.domain_rows(target_features, target_logits, target)
        skipped = min(len(source_rows), len(target_rows)) < self.min_domain_rows  # e.g. a last batch of one
        self.domain_steps += 1
        self.skipped_domain_steps += skipped
        if skipped:
            domain_loss, extras = class_loss.new_zeros(()), {}
        else:
            domain_loss, extras = self.domain_loss(
                DomainRows(
                    source_rows, target_rows, source_row_logits, target_row_logits, source, target,
                    source_origin=origin[0] if origin else None,
                )
            )  # fmt: skip
        weight = self.domain_weight()
        loss = class_loss + weight * domain_loss

        size = len(source["input_ids"])
        self.log("train/loss", loss, prog_bar=True, batch_size=size)
        self.log_dict(
            {
                "train/class_loss": class_loss,
                "train/domain_loss": domain_loss,
                "train/domain_weight": weight,
                "train/domain_loss_skipped": float(skipped),
                **{f"train/{name}": value for name, value in extras.items()},
            },
            batch_size=size,
        )
        return loss

    def on_fit_start(self) -> None:
        super().on_fit_start()
        self.domain_steps = self.skipped_domain_steps = 0

    def on_train_end(self) -> None:
        """Fail a run whose domain loss was skipped on too many steps; note any skipped step."""
        super().on_train_end()
        if not self.skipped_domain_steps:
            return
        share = self.skipped_domain_steps / max(self.domain_steps, 1)
        message = (
            f"{type(self).__name__} skipped its domain loss on {self.skipped_domain_steps} of "
            f"{self.domain_steps} training steps ({share:.0%}): those batches held fewer than "
            f"{self.min_domain_rows} rows of a domain (a small last batch). Use a task.batch_size (or "
            f"task.max_train_examples) that leaves every batch at least {self.min_domain_rows} texts."
        )
        if share > MAX_SKIPPED_SHARE:
            raise DomainLossSkippedError(f"{message} Over {MAX_SKIPPED_SHARE:.0%} of steps: run refused.")
        log.warning(message)
