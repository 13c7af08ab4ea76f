"""What a table cell pools over seeds: runs of one *setting*, never two configurations under one name.

A sweep folder can hold one strategy at several settings (an Optuna or loss-weight sweep, two budgets in
one `logs/`); pooled by strategy name, their scores would pass for seeds of one method. A run's setting is
its identity config (run_identity.py: the resolved config minus paths, names, loggers…) minus what varies
*within* a cell or only changes what is recorded: the seed, the domain pair, `evaluate_on`, and the
label-free validators and oracle row, which watch training without steering it.

Rows of one (task, strategy, backbone) in several settings get the keys that tell them apart in their
strategy name — `dann [strategy.domain_loss_weight=0.1]` — so every report (tables, `compare`, drift
against committed runs) keeps them apart without knowing about settings. Keys that only some records have
(an option added to the config later) never split a group: records differ only where both say something.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from nlp_transfer.run_identity import identity_config

if TYPE_CHECKING:
    from nlp_transfer.results.collect import RunRow

#: dotted prefixes that vary within a cell (seed, pair) or only decide what a run records
WITHIN_CELL_KEYS = (
    "seed",
    "domain",
    "task.source",
    "task.target",
    "task.sources",
    "evaluate_on",
    "selection.validators",
    "selection.oracle",
    "selection.oracle_max_examples",
    "callbacks.step_end_requeue",  # how a SLURM job requeues itself, not what it trains
)
#: at most this many differing keys are spelled out in a label; the rest are counted, the id keeps it unique
LABEL_KEYS = 3
Setting = dict[str, str]  # dotted key → JSON text of its value


def setting_of(resolved: Mapping[str, Any] | None) -> Setting | None:
    """The run's setting as flat `dotted.key → json value` (None for a record without its resolved config)."""
    if not resolved:
        return None
    flat: Setting = {}
    _flatten(identity_config(dict(resolved)), "", flat)
    return {
        key: value
        for key, value in flat.items()
        if not any(key == p or key.startswith(p + ".") for p in WITHIN_CELL_KEYS)
    }


def _flatten(value: Any, prefix: str, out: Setting) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _flatten(item, f"{prefix}{key}.", out)
    else:
        out[prefix.rstrip(".")] = json.dumps(value, sort_keys=True)


def setting_id(setting: Setting | None) -> str:
    """12 hex digits naming a setting ('' when unknown): equal settings, equal ids."""
    if setting is None:
        return ""
    return hashlib.sha256(json.dumps(setting, sort_keys=True).encode()).hexdigest()[:12]


def differing_keys(settings: list[Setting]) -> list[str]:
    """Keys every setting has, with more than one value among them (sorted)."""
    shared = set.intersection(*(set(s) for s in settings)) if settings else set()
    return sorted(key for key in shared if len({s[key] for s in settings}) > 1)


def label(setting: Setting, keys: list[str]) -> str:
    """`k=v, …` over `keys` (at most LABEL_KEYS spelled out, then `+N; <id of the values at keys>`)."""
    shown = [f"{key}={json.loads(setting[key])}" for key in keys[:LABEL_KEYS]]
    if len(keys) > LABEL_KEYS:
        shown.append(f"+{len(keys) - LABEL_KEYS}; {setting_id({key: setting[key] for key in keys})}")
    return ", ".join(shown)


def labelled(strategy: str, label: str) -> str:
    """The strategy's name in reports: `dann [strategy.domain_loss_weight=0.1]`, or the plain name."""
    return f"{strategy} [{label}]" if label else strategy


def unlabelled(name: str) -> str:
    """The strategy's own name from a report's (the inverse of `labelled`)."""
    return name.split(" [", 1)[0]


def setting_labels(members: list[tuple[Hashable, Setting | None]]) -> list[str]:
    """For each (group, setting): the label that tells it from the group's other settings ('' where the
    group has one setting, or the setting is unknown). A group is e.g. (task, strategy, backbone)."""
    groups: dict[Hashable, list[Setting]] = defaultdict(list)
    for group, setting in members:
        if setting is not None:
            groups[group].append(setting)
    keys = {group: differing_keys(settings) for group, settings in groups.items()}
    return [
        label(setting, keys[group]) if setting is not None and keys[group] else ""
        for group, setting in members
    ]


def split_by_setting(rows: list[RunRow]) -> list[RunRow]:
    """The rows, each strategy name extended by its setting's label where one (task, strategy, backbone)
    was run in several settings; unchanged elsewhere. Rows without a known setting keep their name."""
    labels = setting_labels([((row.task, row.strategy, row.backbone), row.setting) for row in rows])
    return [
        replace(row, strategy=labelled(row.strategy, text)) if text else row
        for row, text in zip(rows, labels, strict=True)
    ]
