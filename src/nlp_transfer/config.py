"""Where the Hydra configs live, and the resolvers they use. Cheap to import (omegaconf only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = PROJECT_ROOT / "conf"


def register_resolvers() -> None:
    """`${project_root:}` (the repository root), `${run_group:…}`, `${domain_pair:…}`, `${source_count:…}`,
    `${metric_mode:…}`, `${auto_precision:<accelerator>}`."""
    if not CONFIG_DIR.is_dir():
        raise RuntimeError(
            f"Hydra configs not found at {CONFIG_DIR}: install the project in editable mode "
            f"(`pip install -e .`, as `make install` does) from a checkout."
        )
    OmegaConf.register_new_resolver("project_root", lambda: str(PROJECT_ROOT), replace=True)
    OmegaConf.register_new_resolver("run_group", run_group, replace=True)
    OmegaConf.register_new_resolver("domain_pair", domain_pair, replace=True)
    OmegaConf.register_new_resolver("source_count", source_count, replace=True)
    OmegaConf.register_new_resolver("metric_mode", metric_mode, replace=True)
    OmegaConf.register_new_resolver("auto_precision", auto_precision, replace=True)


def compose_train(overrides: list[str]) -> Any:
    """The config `python train.py <overrides>` would run, composed with Hydra's compose API (not resolved;
    for commands that read a config outside a Hydra run: `nlp-transfer diagnose`, `nlp-transfer tune`)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        return compose(config_name="train", overrides=list(overrides))


def auto_precision(accelerator: str = "auto") -> str:
    """`bf16-mixed` where this machine computes bf16 natively (a bf16 GPU, an AVX512-BF16/AMX CPU), else
    `32-true`: the default `trainer.precision` (see nlp_transfer/precision.py). Imports torch lazily."""
    from nlp_transfer.precision import resolve_precision

    return resolve_precision(accelerator)


def metric_mode(metric: str, *, _root_: Any = None) -> str:
    """ModelCheckpoint's `mode` for a monitored metric: `min` for losses and lower-is-better validators
    (those the config's `selection.validators` lists, or built-in ones)."""
    from nlp_transfer.objective import objective_direction

    selection = _root_.get("selection") if _root_ is not None else None
    return "max" if objective_direction(metric, selection) == "maximize" else "min"


def domain_pair(source: Any, target: str, evaluate_on: str = "pair") -> str:
    """`books-kitchen` for a pair run; `books-all` for one tested on every domain (evaluate_on=all_domains);
    a list of sources is named `books+dvd+electronics-kitchen` (nlp_transfer.source_domains).

    Run and job folders and W&B run names use it, so a merged transfer_grid job is not named after
    whichever target happened to come first.
    """
    from nlp_transfer.source_domains import source_name

    source = source_name(source)
    return f"{source}-all" if evaluate_on == "all_domains" else f"{source}-{target}"


def source_count(source: Any) -> int:
    """How many source domains `domain.source` names (1 for a single domain): sizes a multi-source
    strategy's domain discriminator (`${source_count:${domain.source}}`)."""
    from nlp_transfer.source_domains import source_list

    return len(source_list(source))


def run_group(default: str) -> str:
    """The logger group of a run: `sweep-<sweep folder name>` inside a multirun, else `default`.

    All jobs of one sweep then share a W&B group, and separate sweeps never mix.
    """
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        return sweep_group(HydraConfig.get().sweep.dir)
    return default


def sweep_group(sweep_dir: str | Path) -> str:
    """`sweep-<sweep folder name>`: the W&B group of a sweep's jobs and of its summary run."""
    return f"sweep-{Path(sweep_dir).name}"
