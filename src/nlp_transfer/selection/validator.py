"""The shape every validator shares: a name, a direction, and the inputs it needs."""

from __future__ import annotations

from typing import Any, ClassVar


class ValidatorUndefined(ValueError):
    """A validator cannot score these inputs (e.g. too few texts); the reason is recorded, not hidden."""


class Validator:
    """Scores one validation point from label-free inputs.

    Subclasses set `name`, `higher_is_better` and `needs` (the keyword arguments `__call__` takes:
    `source_val` / `target_unlabeled` as `SplitOutputs`, `source_val_metric` as a float) and
    implement `__call__`, returning a float.
    """

    name: ClassVar[str]
    higher_is_better: ClassVar[bool]
    needs: ClassVar[tuple[str, ...]]

    def __call__(self, **inputs: Any) -> float:
        raise NotImplementedError

    def better(self, score: float, than: float) -> bool:
        """Strictly better: on a tie the earlier point stays chosen (as ModelCheckpoint does)."""
        return score > than if self.higher_is_better else score < than
