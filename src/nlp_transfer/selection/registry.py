"""Validators by name, as the `selection.validators` config lists them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nlp_transfer.selection.dev import DEVValidator
from nlp_transfer.selection.entropy import EntropyValidator
from nlp_transfer.selection.info_max import InfoMaxValidator
from nlp_transfer.selection.source_val import SourceValValidator
from nlp_transfer.selection.validator import Validator

VALIDATORS: dict[str, type[Validator]] = {
    cls.name: cls for cls in (SourceValValidator, EntropyValidator, InfoMaxValidator, DEVValidator)
}


def build_validators(
    names: Sequence[str], options: Mapping[str, Mapping[str, Any]] | None = None
) -> list[Validator]:
    """One validator per name, in order; `options[name]` holds its constructor arguments.

    Raises:
        ValueError: an unknown or repeated name, or options for a validator that is not listed.
    """
    options = dict(options or {})
    unknown = [n for n in names if n not in VALIDATORS]
    if unknown:
        raise ValueError(
            f"Unknown validators {unknown}; choose from {sorted(VALIDATORS)} (selection.validators)"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"selection.validators lists a validator twice: {list(names)}")
    stray = sorted(set(options) - set(names))
    if stray:
        raise ValueError(
            f"selection options for {stray}, which are not in selection.validators={list(names)}"
        )
    return [VALIDATORS[name](**dict(options.get(name) or {})) for name in names]
