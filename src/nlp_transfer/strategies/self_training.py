"""Self-training: confident pseudo-labels on unlabeled target text (FixMatch-style, Sohn et al. 2020).

Each step a teacher labels the target batch; a row (a text, or at token level a word) whose
teacher probability max_c q_c exceeds a threshold adds cross-entropy against its pseudo-label ŷ = argmax q:

    L_u = (1/n) Σ_i 1[max_c q_ic > T(ŷ_i)] · CE(student_i, ŷ_i)         (mean over all n target rows)
    loss = CE(source labels) + w(p) · (L_u + consistency_weight · L_cons)

w(p) is the shared domain-loss weight and ramp-up (`domain_loss_weight`, `warmup`: DomainAdaptationModule).
Dividing by all n rows, not by the confident ones, is FixMatch's choice (eq. 4): few confident rows give a
small loss, so early noisy labels weigh little.

Teacher (`teacher`):
  - `ema`: a frozen copy of encoder + head, θ_T ← α_t θ_T + (1 − α_t) θ_S after every optimizer step with
    α_t = min(α, 1 − 1/(t + 1)) (Mean Teacher, Tarvainen & Valpola 2017); it predicts in eval mode (no
    dropout). Its weights are buffers of a kind: `requires_grad=False`, so the optimizer never sees them,
    but they are in the state dict, so checkpoints save them and a resumed run continues the same average.
  - `self`: the student's own target logits of this step, detached (no extra pass, no copy).

Threshold (`curriculum`):
  - `fixed`: T(c) = τ for every class (FixMatch; τ = `threshold`, 0.95 in the paper, 0.9 here).
  - `flexmatch`: per-class thresholds from each class's learning status (Zhang et al. 2021, FlexMatch,
    eqs. 6–7 with threshold warm-up): σ_c counts target rows confidently (> τ) predicted as c, u counts
    rows not confidently predicted, β_c = σ_c / max(max_k σ_k, u), T(c) = β_c / (2 − β_c) · τ (convex map).
    Hard or rare classes get a lower threshold, so pseudo-labels do not collapse onto the easy classes.
    Until some class is predicted confidently, every β_c is 0 and so is every threshold: like FlexMatch's
    warm-up, training starts by pseudo-labeling every row, and the thresholds rise as classes are learned.
    FlexMatch keeps the latest prediction of every unlabeled example; target batches here carry no example
    ids, so σ and u are exponentially decayed counts over recent batches (`curriculum_momentum` m: counts ←
    m · counts + this batch's), computed from the teacher before this batch's thresholds are applied.

Consistency (`consistency_weight` > 0): a second dropout pass of the student over the target batch and
L_cons = (1/n) Σ_i ‖softmax(z_i) − softmax(z'_i)‖² (the Π-model, Laine & Aila 2017).

Token level (NER): the rows are words (`word_rows`): each word's first sub-token, the rows the supervised
loss trains (the other sub-tokens and the special tokens carry no label, so their predictions are never
trained and would be pseudo-labels of nothing). Every batch, the unlabeled target's too, says which
tokens start words (`word_starts`, from the tokenizer's word alignment, not from labels); n, the
confidence statistics and FlexMatch's counts are over those rows only; padding is never a row. Target
labels never reach this module: the base refuses a target batch with labels (`TargetLabelLeakError`).
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from nlp_transfer.strategies.base import Batch
from nlp_transfer.strategies.domain_adaptation import DomainAdaptationModule, DomainRows

TEACHERS = ("ema", "self")
CURRICULA = ("fixed", "flexmatch")


def confident_pseudo_labels(
    teacher_probs: torch.Tensor, thresholds: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(rows, classes) probabilities, (classes,) thresholds → (rows,) pseudo-labels and (rows,) bool mask of
    the rows whose top probability exceeds its predicted class's threshold."""
    confidence, labels = teacher_probs.max(dim=-1)
    return labels, confidence > thresholds[labels]


def pseudo_label_loss(student_logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(1/n) Σ_i mask_i · CE(student_logits_i, labels_i) over all n rows (FixMatch eq. 4)."""
    losses = F.cross_entropy(student_logits.float(), labels, reduction="none")
    return (losses * mask.to(losses.dtype)).sum() / max(len(labels), 1)


def flexmatch_thresholds(confident: torch.Tensor, unconfident: torch.Tensor, tau: float) -> torch.Tensor:
    """T(c) = β_c / (2 − β_c) · τ with β_c = σ_c / max(max_k σ_k, u) (FlexMatch, warm-up + convex map)."""
    beta = confident / torch.maximum(confident.max(), unconfident).clamp_min(1e-12)
    return beta / (2.0 - beta) * tau


def consistency_loss(first_logits: torch.Tensor, second_logits: torch.Tensor) -> torch.Tensor:
    """(1/n) Σ_i ‖softmax(z_i) − softmax(z'_i)‖²: two dropout passes should agree (Π-model)."""
    diff = first_logits.float().softmax(dim=-1) - second_logits.float().softmax(dim=-1)
    return diff.pow(2).sum(dim=-1).mean()


@torch.no_grad()
def ema_update(teacher: nn.Module, student: nn.Module, decay: float) -> None:
    """θ_T ← decay · θ_T + (1 − decay) · θ_S for every parameter; buffers copied (same names required)."""
    student_params = dict(student.named_parameters())
    for name, param in teacher.named_parameters():
        param.mul_(decay).add_(student_params[name].detach(), alpha=1.0 - decay)
    student_buffers = dict(student.named_buffers())
    for name, buffer in teacher.named_buffers():
        buffer.copy_(student_buffers[name])


class SelfTrainingModule(DomainAdaptationModule):
    """Encoder + classifier trained on source labels plus confident pseudo-labels of target rows.

    At token level a row is a word (its first sub-token), as for the supervised loss (`word_rows`).

    Args (beyond `DomainAdaptationModule`, whose `domain_loss_weight` and `warmup` weigh L_u):
        teacher: `ema` (a Mean-Teacher copy) or `self` (the student's own detached predictions).
        ema_decay: α of the EMA teacher. Until α_t reaches it the teacher is the plain mean of all students so
            far; 0.99 (a ~100-step horizon, Mean Teacher's early value) suits runs of a few hundred steps.
        threshold: τ, the confidence a pseudo-label needs (the ceiling of FlexMatch's per-class thresholds).
        curriculum: `fixed` or `flexmatch`.
        curriculum_momentum: m of FlexMatch's decayed per-class counts.
        consistency_weight: weight of the two-dropout-pass consistency term (0 turns it off: no second pass).

    Raises:
        ValueError: an unknown teacher or curriculum, τ outside (0, 1), α or m outside [0, 1), a negative
            consistency weight, or `max_domain_rows` set (every target row is pseudo-labeled).
    """

    word_rows = True

    def __init__(
        self,
        *args: Any,
        teacher: str = "ema",
        ema_decay: float = 0.99,
        threshold: float = 0.9,
        curriculum: str = "fixed",
        curriculum_momentum: float = 0.99,
        consistency_weight: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        check_settings(teacher, ema_decay, threshold, curriculum, curriculum_momentum, consistency_weight)
        if self.max_domain_rows is not None:
            raise ValueError(
                f"self_training pseudo-labels every target row; max_domain_rows={self.max_domain_rows} would "
                "drop rows at random. Set strategy.max_domain_rows=null."
            )
        self.ema_decay, self.threshold = ema_decay, threshold
        self.curriculum, self.curriculum_momentum = curriculum, curriculum_momentum
        self.consistency_weight = consistency_weight
        self.teacher: nn.ModuleDict | None = None
        if teacher == "ema":
            self.teacher = nn.ModuleDict(
                {"encoder": copy.deepcopy(self.encoder), "head": copy.deepcopy(self.head)}
            )
            self.teacher.requires_grad_(False)
        num = len(self.label_names)
        # FlexMatch's learning status and the EMA step count: buffers, so checkpoints carry them
        self.register_buffer("confident_counts", torch.zeros(num))
        self.register_buffer("unconfident_count", torch.zeros(()))
        self.register_buffer("teacher_updates", torch.zeros((), dtype=torch.long))

    # ----------------------------------------------------------------- teacher
    def teacher_decay(self) -> float:
        """α_t = min(α, 1 − 1/(t + 1)): the average forgets the random start quickly (Mean Teacher)."""
        return min(self.ema_decay, 1.0 - 1.0 / (int(self.teacher_updates) + 1))

    def optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        """EMA update right after each optimizer step: a checkpoint saved at this batch's end holds it."""
        super().optimizer_step(*args, **kwargs)
        if self.teacher is not None:
            ema_update(
                self.teacher,
                nn.ModuleDict({"encoder": self.encoder, "head": self.head}),
                self.teacher_decay(),
            )
            self.teacher_updates += 1

    @torch.no_grad()
    def teacher_logits(self, rows: DomainRows) -> torch.Tensor:
        """(rows, classes) the teacher's logits on the target rows (the EMA copy in eval mode, or the
        student's own, detached)."""
        if self.teacher is None:
            return rows.target_logits.detach()
        batch = rows.target_batch
        self.teacher.eval()
        hidden = self.teacher["encoder"](input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        hidden = hidden.last_hidden_state
        features = self.task_level.features(hidden, batch["attention_mask"], self.pooling)
        return self.domain_features(self.teacher["head"](features), batch)

    # ----------------------------------------------------------------- thresholds
    def class_thresholds(self, teacher_probs: torch.Tensor) -> torch.Tensor:
        """(classes,) this step's thresholds; `flexmatch` then folds this batch into its counts."""
        num = teacher_probs.shape[-1]
        if self.curriculum == "fixed":
            return teacher_probs.new_full((num,), self.threshold)
        thresholds = flexmatch_thresholds(self.confident_counts, self.unconfident_count, self.threshold)
        confidence, predicted = teacher_probs.detach().max(dim=-1)
        confident = confidence > self.threshold
        batch_counts = torch.bincount(predicted[confident], minlength=num).to(self.confident_counts.dtype)
        m = self.curriculum_momentum
        self.confident_counts.mul_(m).add_(batch_counts)
        self.unconfident_count.mul_(m).add_(float((~confident).sum()))
        return thresholds.to(teacher_probs.dtype)

    # ----------------------------------------------------------------- loss
    def domain_loss(self, rows: DomainRows) -> tuple[torch.Tensor, dict[str, float | torch.Tensor]]:
        """L_u on the confident target rows, plus the optional dropout consistency; logs the share labeled."""
        teacher_probs = self.teacher_logits(rows).float().softmax(dim=-1)
        thresholds = self.class_thresholds(teacher_probs)
        labels, mask = confident_pseudo_labels(teacher_probs, thresholds)
        loss = pseudo_label_loss(rows.target_logits, labels, mask)
        extras: dict[str, float | torch.Tensor] = {
            "pseudo_label_share": mask.float().mean(),
            "pseudo_threshold_mean": thresholds.float().mean(),
        }
        if self.consistency_weight > 0:
            second = self.second_pass_logits(rows.target_batch)
            consistency = consistency_loss(rows.target_logits, second)
            loss = loss + self.consistency_weight * consistency
            extras["consistency_loss"] = consistency
        return loss, extras

    def second_pass_logits(self, batch: Batch) -> torch.Tensor:
        """The student's target row logits again, with fresh dropout masks."""
        return self.domain_features(self.head(self.features(batch)), batch)


def check_settings(
    teacher: str, ema_decay: float, threshold: float, curriculum: str, momentum: float, consistency: float
) -> None:
    """Fail when the model is built, naming the setting and its allowed values."""
    if teacher not in TEACHERS:
        raise ValueError(f"strategy.teacher must be one of {TEACHERS}, got {teacher!r}")
    if curriculum not in CURRICULA:
        raise ValueError(f"strategy.curriculum must be one of {CURRICULA}, got {curriculum!r}")
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"strategy.threshold must lie in (0, 1), got {threshold}")
    for name, value in (("ema_decay", ema_decay), ("curriculum_momentum", momentum)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"strategy.{name} must lie in [0, 1), got {value}")
    if consistency < 0:
        raise ValueError(f"strategy.consistency_weight must be >= 0, got {consistency}")
