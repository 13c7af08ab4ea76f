"""The shape every validator shares: a name, a direction, and the inputs its `__call__` names.

A validator asks for what it needs by the parameter names of `__call__` (as pytorch-adapt's validators
do), from `INPUTS`; the selection callback hands over exactly those. Adding a validator is one file with a
subclass and one `_target_` entry in `conf/selection/default.yaml`.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

#: what a validator may ask for, by `__call__` parameter name (never anything with target labels)
INPUTS: dict[str, str] = {
    "source_val": "ModelOutputs of labeled source validation (rows, features, per-row losses, labels)",
    "target_unlabeled": "ModelOutputs of unlabeled target train text (no labels)",
    "source_val_metric": "the task's source-validation metric, a float (task.selection_metric)",
}


class ValidatorUndefined(ValueError):
    """A validator cannot score these inputs (e.g. too few texts); the reason is recorded, not hidden."""


class Validator:
    """Scores one validation point from label-free inputs.

    Subclasses set `name` (its results.json key and `selection/<name>` metric) and `higher_is_better`,
    and implement `__call__` with parameters named after `INPUTS`, returning a float.
    """

    name: ClassVar[str]
    higher_is_better: ClassVar[bool]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for attribute in ("name", "higher_is_better"):
            if not hasattr(cls, attribute):
                raise TypeError(f"validator {cls.__qualname__} must set the class attribute `{attribute}`")
        cls.needs()  # refuse unknown inputs when the class is defined, not at the first validation point

    @classmethod
    def needs(cls) -> tuple[str, ...]:
        """The inputs `__call__` asks for, read from its signature."""
        parameters = list(inspect.signature(cls.__call__).parameters.values())[1:]  # past `self`
        names = tuple(p.name for p in parameters)
        unknown = [p.name for p in parameters if p.name not in INPUTS or p.kind not in _NAMED]
        if unknown or not names:
            raise TypeError(
                f"validator {cls.__qualname__}.__call__ must take named inputs from {sorted(INPUTS)}; "
                f"got {list(names) or 'none'}"
            )
        return names

    def __call__(self, **inputs: Any) -> float:
        raise NotImplementedError

    def better(self, score: float, than: float) -> bool:
        """Strictly better: on a tie the earlier point stays chosen (as ModelCheckpoint does)."""
        return score > than if self.higher_is_better else score < than


_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
