"""Which validators exist: those a selection config lists (`_target_` entries) and the built-in ones.

There is no hand-kept list of names: a validator is a `Validator` subclass, found either through the
config entry that builds it or, for a bare `selection/<name>` metric, among this package's modules.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from nlp_transfer.selection.validator import Validator


def check_validators(validators: Sequence[Any]) -> list[Validator]:
    """The validators of a selection config, built by Hydra; refuses strings, other objects and repeats."""
    validators = list(validators)
    for entry in validators:
        if not isinstance(entry, Validator):
            raise TypeError(
                f"selection.validators holds {entry!r}; each entry must build a Validator, e.g. "
                f"`- _target_: nlp_transfer.selection.entropy.EntropyValidator` (conf/selection/default.yaml)"
            )
    names = [v.name for v in validators]
    if len(set(names)) != len(names):
        raise ValueError(f"selection.validators lists a validator name twice: {names}")
    return validators


def configured_classes(selection: Mapping[str, Any] | None) -> dict[str, type[Validator]]:
    """`{name: class}` of the validators a (composed, not instantiated) selection config lists."""
    from hydra.utils import get_class

    classes: dict[str, type[Validator]] = {}
    for entry in (selection or {}).get("validators") or []:
        target = entry.get("_target_") if isinstance(entry, Mapping) else None
        if target is None:
            raise ValueError(
                f"selection.validators entry {entry!r} has no _target_; write e.g. "
                f"`- _target_: nlp_transfer.selection.entropy.EntropyValidator`"
            )
        cls = get_class(str(target))
        if not (isinstance(cls, type) and issubclass(cls, Validator)):
            raise TypeError(f"selection.validators entry {target} is not a Validator subclass")
        classes[cls.name] = cls
    return classes


@cache
def builtin_classes() -> dict[str, type[Validator]]:
    """`{name: class}` of every validator defined in this package's modules."""
    import nlp_transfer.selection as package

    found: dict[str, type[Validator]] = {}
    for module_info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{module_info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Validator) and value is not Validator:
                found[value.name] = value
    return found


def validator_class(name: str, selection: Mapping[str, Any] | None = None) -> type[Validator]:
    """The validator called `name`: a configured one first, else a built-in one."""
    classes = {**builtin_classes(), **configured_classes(selection)}
    if name not in classes:
        raise ValueError(f"no validator {name!r}; one of {sorted(classes)}")
    return classes[name]
