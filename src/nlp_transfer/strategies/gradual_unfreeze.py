"""Gradual unfreezing with discriminative learning rates (Howard & Ruder 2018, "Universal Language
Model Fine-tuning for Text Classification", ULMFiT, §3.2–3.3).

The network is a stack of groups, top-down: the task head, the last transformer layer, …, the
first layer, the embeddings. Training starts with only the head trainable and unfreezes one more
group from the top at each stage, so the general features of the lower layers are disturbed last,
when the upper ones have settled. A stage is `unfreeze_every_n_steps` steps when that is set, else the first
`unfreeze_fraction` of the planned steps split evenly over the unfreezes (every group trains from
that point on, whatever the budget), or, with both null, one epoch (ULMFiT's cadence: with 8 groups
and 2 epochs only the head and the last layer would ever train). Group i from the top learns
at lr / divisor^i (ULMFiT: divisor 2.6). ULMFiT pairs this with slanted triangular learning rates
(`optimization.slanted_triangular`, the scheduler in `conf/strategy/gradual_unfreeze.yaml`).

All groups are in the optimizer from the first step: a frozen parameter simply has no gradient, so
AdamW neither moves it nor decays it, and unfreezing needs no optimizer rebuild.
"""

from __future__ import annotations

import logging
from typing import Any

from nlp_transfer.models.layer_groups import LayerGroup, encoder_layer_groups
from nlp_transfer.strategies.base import TransferModule
from nlp_transfer.strategies.optimization import NO_DECAY_MARKERS

log = logging.getLogger(__name__)


class GradualUnfreezeModule(TransferModule):
    """Head first, then one encoder group more per stage; lower groups learn more slowly.

    Args (beyond `TransferModule`):
        lr_divisor: each group learns `lr_divisor` times more slowly than the group above it (ULMFiT:
            2.6; the yaml's 1.3 suits a 6-layer transformer at 2 epochs, see its comment).
        unfreeze_every_n_steps: steps per stage; when set, `unfreeze_fraction` is ignored.
        unfreeze_fraction: every group is trainable once this share of the planned steps is done;
            the stages split it evenly. With both null, one group is unfrozen at each epoch start.
    """

    def __init__(
        self,
        *args: Any,
        lr_divisor: float = 2.6,
        unfreeze_every_n_steps: int | None = None,
        unfreeze_fraction: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        check_unfreezing_cadence(lr_divisor, unfreeze_every_n_steps, unfreeze_fraction)
        self.lr_divisor = lr_divisor
        self.unfreeze_every_n_steps = unfreeze_every_n_steps
        self.unfreeze_fraction = unfreeze_fraction
        self.layer_groups = self._groups_top_down()
        self.unfrozen = 0
        self.set_stage(0)

    def _groups_top_down(self) -> list[LayerGroup]:
        """[head (everything outside the encoder), last layer, …, first layer, embeddings]."""
        encoder_groups = [
            LayerGroup(g.name, [(f"encoder.{n}", p) for n, p in g.parameters])
            for g in encoder_layer_groups(self.encoder)
        ]
        head = LayerGroup(
            "head", [(n, p) for n, p in self.named_parameters() if not n.startswith("encoder.")]
        )
        return [head, *reversed(encoder_groups)]

    def set_stage(self, stage: int) -> None:
        """Make exactly the top `stage + 1` groups trainable (all of them once the stack runs out)."""
        unfrozen = min(len(self.layer_groups), stage + 1)
        for depth, group in enumerate(self.layer_groups):
            for _, param in group.parameters:
                param.requires_grad_(depth < unfrozen)
        if unfrozen != self.unfrozen:
            log.info(
                "Gradual unfreezing: %d of %d groups trainable (down to %s)",
                unfrozen,
                len(self.layer_groups),
                self.layer_groups[unfrozen - 1].name,
            )
        self.unfrozen = unfrozen

    def current_stage(self) -> int:
        """The stage for the trainer's position; recomputed each batch, so a resumed run is right too."""
        if self.unfreeze_every_n_steps is not None:
            return self.global_step // self.unfreeze_every_n_steps
        if self.unfreeze_fraction is not None:
            return self.global_step // self.steps_per_stage()
        return self.current_epoch

    def steps_per_stage(self) -> int:
        """Stage length when unfreezing over `unfreeze_fraction` of the trainer's planned steps."""
        total = self.trainer.estimated_stepping_batches
        if total == float("inf"):
            raise ValueError(
                "strategy.unfreeze_fraction needs a finite budget (trainer.max_epochs or trainer.max_steps); "
                "set strategy.unfreeze_every_n_steps instead for an open-ended run"
            )
        return stage_length(int(total), len(self.layer_groups), self.unfreeze_fraction)

    def on_train_start(self) -> None:
        if self.unfreeze_fraction is not None and self.unfreeze_every_n_steps is None:
            log.info(
                "Gradual unfreezing: one more group every %d steps (all %d trainable by step %d of %d)",
                self.steps_per_stage(),
                len(self.layer_groups),
                self.steps_per_stage() * (len(self.layer_groups) - 1),
                int(self.trainer.estimated_stepping_batches),
            )

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        self.set_stage(self.current_stage())
        self.log("train/unfrozen_groups", float(self.unfrozen), batch_size=1)

    def configure_optimizers(self) -> Any:
        """One decayed and one undecayed parameter group per layer group, at lr / divisor^depth."""
        param_groups = []
        for depth, group in enumerate(self.layer_groups):
            decay = [p for n, p in group.parameters if not any(m in n for m in NO_DECAY_MARKERS)]
            no_decay = [p for n, p in group.parameters if any(m in n for m in NO_DECAY_MARKERS)]
            for params, weight_decay in ((decay, self.weight_decay), (no_decay, 0.0)):
                if params:
                    param_groups.append(
                        {"params": params, "weight_decay": weight_decay, "name": group.name, "depth": depth}
                    )
        optimizer = self.optimizer_factory(param_groups)
        for param_group in optimizer.param_groups:
            param_group["lr"] = optimizer.defaults["lr"] / self.lr_divisor ** param_group["depth"]
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer, total_steps=self.trainer.estimated_stepping_batches)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


def stage_length(total_steps: int, num_groups: int, fraction: float) -> int:
    """Steps per stage so that all `num_groups` groups train from step ⌊fraction · T⌋ at the latest.

    The head trains alone in stage 0 and the last group joins in stage `num_groups − 1`, so the
    first `fraction · T` steps are split into `num_groups − 1` equal stages (rounded down, at least 1):
    T = 172, 8 groups, fraction 0.5 → 12 steps per stage, every group trainable from step 84 on.
    """
    if num_groups < 2:
        return max(1, total_steps)
    return max(1, int(fraction * total_steps) // (num_groups - 1))


def check_unfreezing_cadence(
    lr_divisor: float, unfreeze_every_n_steps: int | None, unfreeze_fraction: float | None
) -> None:
    """Early errors for settings that would silently train the wrong groups (a number of steps wins
    over a fraction, so `strategy.unfreeze_every_n_steps=6` alone overrides the default fraction)."""
    if lr_divisor <= 0:
        raise ValueError(f"lr_divisor must be > 0 (ULMFiT uses 2.6), got {lr_divisor}")
    if unfreeze_every_n_steps is not None and unfreeze_every_n_steps < 1:
        raise ValueError(
            f"unfreeze_every_n_steps must be a positive number of steps, or null (then unfreeze_fraction "
            f"sets the cadence, or one group per epoch if that is null too); got {unfreeze_every_n_steps}"
        )
    if unfreeze_fraction is not None and not 0.0 < unfreeze_fraction <= 1.0:
        raise ValueError(
            f"unfreeze_fraction must lie in (0, 1] (the share of training after which every group "
            f"trains), or be null; got {unfreeze_fraction}"
        )
