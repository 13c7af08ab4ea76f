"""Build one run's parts from a composed config, in order: data, model, callbacks, loggers, trainer.

Shared by `train.py` and `eval.py`, so an evaluated checkpoint is rebuilt exactly as it was trained.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig


def instantiate(node: Any, **kwargs: Any) -> Any:
    """Hydra's instantiate, but our own input errors surface as themselves, not wrapped.

    Hydra wraps every exception raised by a `_target_` in `InstantiationException`; a user who
    points at a missing data folder should read the DataError (path, env var, fix) first.
    """
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate as hydra_instantiate

    from nlp_transfer.data.errors import DataError
    from nlp_transfer.models.backbone import BackboneNotFoundError

    try:
        return hydra_instantiate(node, **kwargs)
    except InstantiationException as err:
        if isinstance(err.__cause__, (DataError, BackboneNotFoundError)):
            raise err.__cause__ from None
        raise


def build_data_and_model(cfg: DictConfig) -> tuple[Any, Any]:
    """The task's DataModule and the strategy's LightningModule (backbone passed in)."""
    from hydra.utils import get_class

    strategy_class = get_class(cfg.strategy._target_)
    tokenizer = instantiate(cfg.backbone.tokenizer)
    datamodule = instantiate(
        cfg.task, tokenizer=tokenizer, with_target_unlabeled=strategy_class.uses_target_data
    )
    datamodule.setup("fit")  # read, check and tokenize every split now: bad data fails before the model loads
    encoder = instantiate(cfg.backbone.encoder)
    model = instantiate(
        cfg.strategy,
        encoder=encoder,
        label_names=datamodule.label_names,
        level=datamodule.level,
        _convert_="all",
    )
    return datamodule, model


def build_callbacks(cfg: DictConfig) -> list[Any]:
    return [instantiate(node) for node in (cfg.get("callbacks") or {}).values()]


def build_loggers(cfg: DictConfig) -> list[Any]:
    """Every logger under `cfg.logger` (an empty group means none)."""
    return [instantiate(node) for node in (cfg.get("logger") or {}).values()]


def scalar_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """The one-number entries of Lightning's `callback_metrics`, as floats, sorted by name."""
    return {k: float(v) for k, v in sorted(metrics.items()) if getattr(v, "numel", lambda: 1)() == 1}


def evaluate_checkpoint(
    trainer: Any, model: Any, datamodule: Any, ckpt: str | None, verbose: bool = True
) -> dict:
    """Validate and test one checkpoint (`"best"`, a path, or None for the weights in memory).

    Doing both on the same checkpoint means every reported number belongs to the same weights.
    """
    metrics: dict[str, float] = {}
    for evaluate in (trainer.validate, trainer.test):
        evaluate(model, datamodule=datamodule, ckpt_path=ckpt, verbose=verbose and evaluate == trainer.test)
        metrics.update(scalar_metrics(trainer.callback_metrics))
    return metrics
