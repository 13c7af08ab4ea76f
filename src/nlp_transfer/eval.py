"""Evaluate a finished run: rebuild it from its `results.json`, load a checkpoint, test.

    python eval.py run_dir=logs/sentiment/runs/<run>              # the run's own target
    python eval.py run_dir=logs/sentiment/runs/<run> target=dvd   # the same model on another domain

The run's fully resolved config (saved in `results.json`) rebuilds data and model exactly as
trained; metrics go to `<run_dir>/eval/<time>/eval.json`. A run trained once per source
(`evaluate_on=all_domains`) is tested on every domain again, with its pair's `source/test/*` and
`target/test/*` named as in training; with `target=…` it is tested on that pair only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from nlp_transfer.config import CONFIG_DIR, register_resolvers
from nlp_transfer.results.record import read_results

register_resolvers()


def resolve_checkpoint(run_dir: Path, record: dict[str, Any], which: str) -> Path:
    """`best` (the source-val pick recorded by the run), `last`, or an explicit path."""
    if which == "best":
        chosen = (record.get("selection") or {}).get("checkpoint")
        path = Path(chosen) if chosen else run_dir / "checkpoints" / "last.ckpt"
    elif which == "last":
        path = run_dir / "checkpoints" / "last.ckpt"
    else:
        path = Path(which)
    if not path.is_file():
        raise FileNotFoundError(f"Checkpoint not found: {path} (checkpoint=best|last|<path>)")
    return path


def evaluate(run_dir: str | Path, checkpoint: str = "best", target: str | None = None) -> dict[str, float]:
    """Test a run's checkpoint on source test and (its own or another) target test."""
    import pytorch_lightning as pl
    import torch

    from nlp_transfer.assembly import build_data_and_model

    run_dir = Path(run_dir)
    record = read_results(run_dir)
    cfg = OmegaConf.create(record["config"]["resolved"])
    if target is not None:
        cfg.task.target = target
        cfg.domain.target = target
        cfg.evaluate_on = "pair"  # one named target: test that pair, not every domain again
    datamodule, model = build_data_and_model(cfg)
    state = torch.load(
        resolve_checkpoint(run_dir, record, checkpoint), map_location="cpu", weights_only=False
    )
    model.load_state_dict(state["state_dict"])
    trainer = pl.Trainer(accelerator="auto", devices=1, logger=False, enable_checkpointing=False)
    trainer.test(model, datamodule=datamodule)
    metrics = {k: float(v) for k, v in sorted(trainer.callback_metrics.items())}
    if getattr(datamodule, "test_domains", None) is not None:  # an all_domains run: name its pair too
        from nlp_transfer.results.domain_metrics import with_pair_names

        metrics = dict(sorted(with_pair_names(metrics, datamodule.source, datamodule.target).items()))
    return metrics


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="eval")
def main(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig

    metrics = evaluate(cfg.run_dir, cfg.checkpoint, cfg.target)
    out = Path(HydraConfig.get().runtime.output_dir) / "eval.json"
    out.write_text(
        json.dumps(
            {
                "run_dir": str(cfg.run_dir),
                "checkpoint": cfg.checkpoint,
                "target": cfg.target,
                "metrics": metrics,
            },
            indent=2,
        )
        + "\n"
    )
    for name, value in metrics.items():
        print(f"{name:28s} {value:.4f}")


if __name__ == "__main__":
    main()
