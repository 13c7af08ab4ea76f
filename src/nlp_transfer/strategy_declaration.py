"""What a strategy's yaml declares beside its constructor arguments: whether it trains on target data.

Each `conf/strategy/<name>.yaml` says `uses_target_data: true|false`, equal to its class attribute, so the
transfer_grid sweeper can decide which jobs to merge from config alone, before any job runs and without
importing torch. The class attribute stays what the code acts on; building a model checks that the two
agree, and the key is taken out before the class is instantiated (no constructor takes it).
Cheap to import (omegaconf only).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omegaconf import DictConfig, OmegaConf

DECLARATION = "uses_target_data"


def declared_uses_target_data(strategy: Mapping[str, Any]) -> bool:
    """The strategy node's `uses_target_data`; a missing or non-boolean value is an error naming the fix."""
    value = strategy.get(DECLARATION)
    if not isinstance(value, bool):
        raise ValueError(
            f"strategy {strategy.get('_target_')!r} must declare `{DECLARATION}: true|false` in its yaml "
            f"(conf/strategy/<name>.yaml), equal to its class attribute; got {value!r}."
        )
    return value


def check_declaration(strategy: Mapping[str, Any], strategy_class: type) -> None:
    """A yaml whose declaration contradicts its class would make the sweeper merge target-using jobs."""
    declared = strategy.get(DECLARATION)
    actual = bool(getattr(strategy_class, DECLARATION))
    if declared is not None and declared != actual:
        raise ValueError(
            f"strategy yaml says {DECLARATION}: {str(declared).lower()}, but {strategy_class.__name__}."
            f"{DECLARATION} is {actual}: set `{DECLARATION}: {str(actual).lower()}` in its yaml."
        )


def constructor_config(strategy: DictConfig) -> DictConfig:
    """The node to instantiate: the strategy's config, interpolations resolved, minus the declaration."""
    node = OmegaConf.to_container(strategy, resolve=True)  # resolved here: a detached copy loses its root
    assert isinstance(node, dict)
    node.pop(DECLARATION, None)
    return OmegaConf.create(node)
