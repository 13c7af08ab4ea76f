"""What a hyperparameter search optimises for one run, which way is better, and whether it is allowed.

`optimized_metric` names either a logged metric (`source/val/acc`, `source/val/loss`, …) or a label-free
validator as `selection/<validator>` (entropy, info_max, dev, source_val): the run then reports that
validator's score at the validation point it would pick, so a search ranks settings the way the
validator ranks checkpoints (You et al. 2019 select hyperparameters with DEV in just this way).
A target-test metric is an oracle objective and needs `oracle=true`. `checkpoint_metric` (what picks the
saved checkpoint) takes the same names, minus the target ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nlp_transfer.results.record import RunRecord

SELECTION_PREFIX = "selection/"


def validator_name(metric: str) -> str | None:
    """`entropy` for `selection/entropy`; None for an ordinary metric name."""
    return metric[len(SELECTION_PREFIX) :] if metric.startswith(SELECTION_PREFIX) else None


def objective_direction(metric: str, selection: Mapping[str, Any] | None = None) -> str:
    """`maximize` or `minimize` for an `optimized_metric` (a validator's own direction; losses go down).

    A validator is looked up among `selection`'s `_target_` entries (the run's config), else built-ins.
    """
    name = validator_name(metric)
    if name is None:
        return "minimize" if metric.rsplit("/", 1)[-1] == "loss" else "maximize"
    from nlp_transfer.selection.catalog import validator_class  # imports torch: only for validators

    try:
        higher_is_better = validator_class(name, selection).higher_is_better
    except ValueError as error:
        raise ValueError(f"optimized_metric={metric}: {error}") from None
    return "maximize" if higher_is_better else "minimize"


def check_objective(metric: str, oracle: bool, selection: Mapping[str, Any] | None) -> None:
    """Refuse, before training, an objective that would read target labels or that nothing will measure."""
    if metric.startswith("target/") and not oracle:
        raise ValueError(
            f"optimized_metric={metric} would choose hyperparameters on target labels. Use a source or "
            f"label-free metric (e.g. selection/dev), or mark the run as an upper bound with oracle=true."
        )
    _check_validator_runs("optimized_metric", metric, selection)


def _check_validator_runs(key: str, metric: str, selection: Mapping[str, Any] | None) -> None:
    """`selection/<name>` can only be read if the validator is in `selection.validators`."""
    name = validator_name(metric)
    if name is None:
        return
    from nlp_transfer.selection.catalog import configured_classes

    listed = list(configured_classes(selection))
    if name not in listed:
        raise ValueError(
            f"{key}={metric} needs the {name!r} validator to run: use selection=default and "
            f"list it in selection.validators (now {listed})."
        )


def checkpoint_metric_of(cfg: Mapping[str, Any]) -> str:
    """The run's `checkpoint_metric` (conf/train.yaml); the one reader of it for train, assembly and sweeper.

    Configs saved before the key existed (an old results.json re-evaluated) fall back to the task's metric.
    """
    return str(cfg.get("checkpoint_metric") or cfg["task"]["selection_metric"])


def checkpoint_chosen_on_source(cfg: Mapping[str, Any]) -> bool:
    """True when source validation picks the checkpoint, so target text cannot have shaped the model."""
    return checkpoint_metric_of(cfg).startswith("source/")


def check_checkpoint_metric(metric: str, selection: Mapping[str, Any] | None) -> None:
    """A checkpoint is chosen on source validation or by a label-free validator that runs; nothing else."""
    if metric.startswith("source/val/"):
        return
    if validator_name(metric) is None:
        raise ValueError(
            f"checkpoint_metric={metric}: a checkpoint may be chosen on a source-validation metric "
            f"(source/val/<name>) or by a label-free validator (selection/<validator>), never on target data."
        )
    _check_validator_runs("checkpoint_metric", metric, selection)


def objective_value(record: RunRecord, metric: str) -> float | None:
    """The run's objective from its results record (None when the run did not measure it)."""
    name = validator_name(metric)
    if name is None:
        return record.metric(metric)
    picks = getattr(record.selection, "validators", None) or {}  # contributed by ValidatorSelection
    pick = picks.get(name)
    return None if pick is None else pick.get("score")
