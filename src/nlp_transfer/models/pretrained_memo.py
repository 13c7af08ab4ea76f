"""Pretrained weights read once per process: later jobs of an in-process multirun get a fresh copy.

A sweep run by Hydra's default launcher trains its jobs one after another in one process. Reading the
backbone again for every job re-parses its files (safetensors and tokenizer JSON); keeping the first
load untouched in memory and handing each job a deep copy gives every job the same clean start for
the cost of a memory copy. Off by default (a single run would only pay one more copy of the weights):
train.py switches it on when Hydra runs a multirun.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

_pristine: dict[Hashable, Any] = {}
_enabled = False


def reuse_loaded_weights(enabled: bool = True) -> None:
    """Keep loaded backbones and tokenizers for later jobs of this process (False: forget them)."""
    global _enabled
    _enabled = enabled
    if not enabled:
        _pristine.clear()


def loaded_once(key: Hashable, load: Callable[[], T]) -> T:
    """`load()`, or, when reuse is on and `key` was loaded before, a deep copy of that first load."""
    if not _enabled:
        return load()
    if key not in _pristine:
        _pristine[key] = load()
    return copy.deepcopy(_pristine[key])
