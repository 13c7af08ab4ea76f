"""Build one run's parts from a composed config, in order: data, model, callbacks, loggers, trainer.

Shared by `train.py` and `eval.py`, so an evaluated checkpoint is rebuilt exactly as it was trained.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig

from nlp_transfer.objective import checkpoint_chosen_on_source, checkpoint_metric_of
from nlp_transfer.preflight import check_parts
from nlp_transfer.strategy_declaration import check_declaration, constructor_config


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
    check_declaration(cfg.strategy, strategy_class)
    domains = test_domains(cfg, strategy_class)
    tokenizer = instantiate(cfg.backbone.tokenizer)
    datamodule = instantiate(
        cfg.task, tokenizer=tokenizer, with_target_unlabeled=strategy_class.uses_target_data,
        test_domains=domains,
    )  # fmt: skip
    datamodule.setup("fit")  # read, check and tokenize every split now: bad data fails before the model loads
    encoder = instantiate(cfg.backbone.encoder)
    extra: dict[str, Any] = {}
    if getattr(strategy_class, "needs_vocabulary", False):  # e.g. UDALM's masking: ids, not a tokenizer
        from nlp_transfer.models.masking import masking_vocabulary

        extra["vocabulary"] = masking_vocabulary(tokenizer)
    model = instantiate(
        constructor_config(cfg.strategy),
        encoder=encoder,
        label_names=datamodule.label_names,
        level=datamodule.level,
        _convert_="all",
        **extra,
    )
    model.run_names = {"task": cfg.task.name, "backbone": cfg.backbone.name}  # its checkpoints' identity
    check_parts(cfg, datamodule, model, encoder)  # max_length vs positions, DA batches: before any batch
    return datamodule, model


def test_domains(cfg: DictConfig, strategy_class: type) -> list[str] | None:
    """None to test the pair, or every domain of the task for `evaluate_on=all_domains`.

    Testing one model on every domain is only sound when nothing target-specific shaped it: the strategy
    never reads target data and the checkpoint is chosen on source validation.
    """
    from nlp_transfer.results.domain_metrics import EVALUATE_ON, all_domains_of

    evaluate_on = cfg.get("evaluate_on", "pair")
    if evaluate_on not in EVALUATE_ON:
        raise ValueError(f"evaluate_on must be one of {EVALUATE_ON}, got {evaluate_on!r}")
    if evaluate_on == "pair":
        return None
    if strategy_class.uses_target_data:
        raise ValueError(
            f"evaluate_on=all_domains: strategy {strategy_class.__name__} trains on unlabeled "
            f"{cfg.task.target!r} text, so its model depends on the target and cannot stand for the other "
            f"domains. Use evaluate_on=pair (one job per source → target pair) for it."
        )
    if not checkpoint_chosen_on_source(cfg):
        raise ValueError(
            f"evaluate_on=all_domains needs a checkpoint chosen on source data; checkpoint_metric is "
            f"{checkpoint_metric_of(cfg)!r} (a validator reading {cfg.task.target!r} text). "
            f"Use evaluate_on=pair."
        )
    return all_domains_of(cfg.task.domains, cfg.task.source, cfg.task.target)


def build_callbacks(cfg: DictConfig) -> list[Any]:
    """The `callbacks` group's callbacks, then the label-free validators of `selection` (if on).

    An entry set to null (`callbacks.progress_bar=null`) is switched off. The validation-budget guard is
    always there: it acts only when a checkpoint callback monitors a metric.
    """
    from nlp_transfer.callbacks.validation_budget import ValidationBudgetGuard

    callbacks = [instantiate(node) for node in (cfg.get("callbacks") or {}).values() if node is not None]
    callbacks.append(ValidationBudgetGuard())
    if cfg.get("selection"):  # selection=none composes to an empty node
        callbacks.append(instantiate(cfg.selection, _convert_="all"))
    return callbacks


def build_loggers(cfg: DictConfig) -> list[Any]:
    """Every logger under `cfg.logger` (an empty group means none)."""
    return [instantiate(node) for node in (cfg.get("logger") or {}).values() if node is not None]


def scalar_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """The one-number entries of Lightning's `callback_metrics`, as floats, sorted by name."""
    return {k: float(v) for k, v in sorted(metrics.items()) if getattr(v, "numel", lambda: 1)() == 1}


def evaluate_checkpoint(
    trainer: Any, model: Any, datamodule: Any, ckpt: str | None, verbose: bool = False
) -> dict:
    """Validate and test one checkpoint (`"best"`, a path, or None for the weights in memory).

    Doing both on the same checkpoint means every reported number belongs to the same weights.
    `verbose` prints Lightning's test table: off by default, since it repeats every metric under each test
    DataLoader (source and target) and train.py prints its own summary.
    """
    from nlp_transfer.checkpoint_io import LIGHTNING_LOAD

    if ckpt == "best":  # the checkpoint_metric's pick, by path: "best" makes Lightning warn (twice) that
        # LastCheckpoint is a second checkpoint callback, although it only ever means the first one's pick
        ckpt = getattr(trainer.checkpoint_callback, "best_model_path", None) or ckpt

    metrics: dict[str, float] = {}
    for evaluate in (trainer.validate, trainer.test):
        verbose_here = verbose and evaluate == trainer.test
        evaluate(model, datamodule=datamodule, ckpt_path=ckpt, verbose=verbose_here, **LIGHTNING_LOAD)
        metrics.update(scalar_metrics(trainer.callback_metrics))
    if getattr(datamodule, "test_domains", None) is not None:  # evaluate_on=all_domains: name the pair too
        from nlp_transfer.results.domain_metrics import with_pair_names

        metrics = dict(sorted(with_pair_names(metrics, datamodule.source, datamodule.target).items()))
    return metrics
