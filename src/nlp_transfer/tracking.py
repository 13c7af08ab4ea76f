"""Experiment tracking: W&B that never blocks or asks, offline unless the user is logged in."""

from __future__ import annotations

import netrc
import os
from pathlib import Path
from typing import Any


def wandb_logged_in() -> bool:
    """True when an API key is available (env var or ~/.netrc), without touching the network."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        netrc_path = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
        return (
            netrc_path.is_file() and netrc.netrc(str(netrc_path)).authenticators("api.wandb.ai") is not None
        )
    except (netrc.NetrcParseError, OSError):
        return False


def resolve_wandb_mode(mode: str) -> str:
    """`auto` → `online` if logged in, else `offline`; `online`/`offline`/`disabled` pass through."""
    env_mode = os.environ.get("WANDB_MODE")
    if mode == "auto" and env_mode:
        # W&B's own aliases; Lightning's offline WandbLogger sets WANDB_MODE=dryrun in the process,
        # which the next job of a multirun then sees
        mode = {"dryrun": "offline", "run": "online"}.get(env_mode, env_mode)
    if mode == "auto":
        return "online" if wandb_logged_in() else "offline"
    if mode not in ("online", "offline", "disabled"):
        raise ValueError(f"logger.wandb.mode must be auto, online, offline or disabled, got {mode!r}")
    return mode


def wandb_logger(
    project: str,
    save_dir: str,
    name: str | None = None,
    group: str | None = None,
    job_type: str | None = None,
    tags: list[str] | None = None,
    mode: str = "auto",
    config: Any = None,
    **kwargs: Any,
) -> Any:
    """A Lightning `WandbLogger` whose mode is decided here, so nothing prompts for a login.

    `config` (the swept axes: backbone, strategy, task, source, target, seed) goes into the run's config.
    """
    from omegaconf import DictConfig, OmegaConf
    from pytorch_lightning.loggers import WandbLogger

    if isinstance(config, DictConfig):
        config = OmegaConf.to_container(config, resolve=True)

    resolved = resolve_wandb_mode(mode)
    os.environ.setdefault("WANDB_SILENT", "true")
    Path(save_dir).mkdir(parents=True, exist_ok=True)
    logger = WandbLogger(
        project=project,
        save_dir=save_dir,
        name=name,
        group=group,
        job_type=job_type,
        tags=list(tags or []),
        mode=resolved,
        offline=resolved == "offline",
        config=config,
        **kwargs,
    )
    # Lightning always hands wandb.init `anonymous=None`, and wandb ≥ 0.19 warns that the setting has no
    # effect whenever it is passed at all ("The anonymous setting has no effect ..."): leave it out.
    getattr(logger, "_wandb_init", {}).pop("anonymous", None)
    return logger


def finish_wandb(exit_code: int = 0) -> None:
    """Close the W&B run of this job (if any) so runs of a sweep never merge."""
    import sys

    wandb = sys.modules.get("wandb")
    if wandb is not None and getattr(wandb, "run", None) is not None:
        wandb.finish(exit_code=exit_code)
