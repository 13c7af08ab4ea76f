"""Evaluate a finished run: rebuild it from its `results.json`, load a checkpoint, test.

    python eval.py run_dir=logs/sentiment/runs/<run>              # the run's own target
    python eval.py run_dir=logs/sentiment/runs/<run> target=dvd   # the same model on another domain

The run's fully resolved config (saved in `results.json`) rebuilds data and model exactly as
trained; metrics go to `<run_dir>/eval/<time>/eval.json`. A run trained once per source
(`evaluate_on=all_domains`) is tested on every domain again, with its pair's `source/test/*` and
`target/test/*` named as in training; with `target=…` it is tested on that pair only.

The model is found and read by `run_weights` (a finished run's kept `checkpoints/model.safetensors`,
or a `.ckpt` weights-only) and its identity checked against the rebuilt run
before its weights are loaded. A `run_dir` that does not exist or holds no `results.json` is refused
while Hydra resolves its output folder (`${finished_run_dir:…}` in conf/eval.yaml), so a mistyped
path is never created.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from nlp_transfer.config import CONFIG_DIR, register_resolvers
from nlp_transfer.results.record import RESULTS_FILE, read_record

register_resolvers()


class RunDirError(FileNotFoundError):
    """`run_dir` is not the folder of a finished training run."""


def finished_run_dir(run_dir: str | Path) -> Path:
    """`run_dir` if it is a training run's folder holding `results.json`, else a clear error."""
    path = Path(run_dir)
    if not path.is_dir():
        raise RunDirError(
            f"run_dir={run_dir} does not exist: pass the folder of a training run, "
            f"e.g. run_dir=logs/<task>/runs/<run> (the folder that holds its {RESULTS_FILE})."
        )
    if not (path / RESULTS_FILE).is_file():
        raise RunDirError(
            f"run_dir={run_dir} holds no {RESULTS_FILE}, so it is not a training run's folder (train.py "
            f"writes {RESULTS_FILE} there): pass the folder of a run, e.g. logs/<task>/runs/<run>."
        )
    return path


# conf/eval.yaml's output folder `${finished_run_dir:${run_dir}}/eval/<time>`: checked before Hydra makes it
OmegaConf.register_new_resolver("finished_run_dir", lambda path: str(finished_run_dir(path)), replace=True)


def evaluate(
    run_dir: str | Path,
    checkpoint: str = "best",
    target: str | None = None,
    output_dir: str | Path | None = None,
) -> dict[str, float]:
    """Test a run's checkpoint on source test and (its own or another) target test.

    Per-example predictions go to `<output_dir>/predictions/` (default `<run_dir>/eval/`), never over the
    run's own and never into the working directory.
    """
    import pytorch_lightning as pl

    from nlp_transfer.assembly import build_data_and_model
    from nlp_transfer.checkpoint_identity import check_identity
    from nlp_transfer.run_weights import load_run_weights

    run_dir = finished_run_dir(run_dir)
    record = read_record(run_dir)
    cfg = OmegaConf.create(record.config.resolved)
    if target is not None:
        cfg.task.target = target
        cfg.domain.target = target
        cfg.evaluate_on = "pair"  # one named target: test that pair, not every domain again
    datamodule, model = build_data_and_model(cfg)
    # best: a finished run's kept weights; safetensors, or a .ckpt weights-only (any other object refused)
    path, state = load_run_weights(run_dir, checkpoint)
    check_identity(state, model.checkpoint_identity(), path)  # before any weight is loaded
    model.load_state_dict(state["state_dict"])
    output_dir = Path(output_dir) if output_dir is not None else run_dir / "eval"
    model.predictions_dir = str(output_dir / "predictions")
    trainer = pl.Trainer(
        accelerator="auto", devices=1, logger=False, enable_checkpointing=False, default_root_dir=output_dir,
        precision=cfg.trainer.get("precision", "32-true"),  # as trained (bf16-mixed where it was chosen)
    )  # fmt: skip
    trainer.test(model, datamodule=datamodule)
    metrics = {k: float(v) for k, v in sorted(trainer.callback_metrics.items())}
    if getattr(datamodule, "test_domains", None) is not None:  # an all_domains run: name its pair too
        from nlp_transfer.results.domain_metrics import with_pair_names

        metrics = dict(sorted(with_pair_names(metrics, datamodule.source, datamodule.target).items()))
    return metrics


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="eval")
def evaluate_job(cfg: DictConfig) -> None:
    """The Hydra job: evaluate, write `eval.json` into the job's folder, print the metrics."""
    from hydra.core.hydra_config import HydraConfig

    job_dir = Path(HydraConfig.get().runtime.output_dir)
    metrics = evaluate(cfg.run_dir, cfg.checkpoint, cfg.target, output_dir=job_dir)
    out = job_dir / "eval.json"
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


def main() -> None:
    """`python eval.py run_dir=…`: a wrong `run_dir=` is one clear line, before Hydra starts.

    (conf/eval.yaml's `${finished_run_dir:…}` checks again however run_dir is set, with Hydra's traceback.)
    """
    for arg in sys.argv[1:]:
        if arg.startswith("run_dir="):
            try:
                finished_run_dir(arg.removeprefix("run_dir="))
            except RunDirError as err:
                raise SystemExit(f"eval.py: {err}") from None
    evaluate_job()


if __name__ == "__main__":
    main()
