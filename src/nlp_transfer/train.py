"""The Hydra entry point for training: compose → seed → build → fit → test → results.json.

Heavy libraries are imported inside `train()`, so `python train.py --help` and `--cfg job`
stay fast. The function returns the metric named by `optimized_metric` for sweepers.
"""

from __future__ import annotations

import logging
import resource
import sys
import time
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from nlp_transfer.config import CONFIG_DIR, PROJECT_ROOT, register_resolvers
from nlp_transfer.console import print_run_location
from nlp_transfer.interruption import Interruptions, RunInterrupted
from nlp_transfer.objective import (
    check_checkpoint_metric,
    check_objective,
    checkpoint_metric_of,
    objective_value,
)
from nlp_transfer.preflight import check_config
from nlp_transfer.results.predictions import prediction_files
from nlp_transfer.results.record import environment, write_results
from nlp_transfer.resume import claim_run_dir, describe_checkpoint, resume_checkpoint
from nlp_transfer.run_identity import check_data, run_identity, write_identity
from nlp_transfer.run_lock import RunLock

log = logging.getLogger(__name__)
register_resolvers()


def _choices() -> dict[str, Any]:
    """The config-group choices of this run (backbone=…, strategy=…), when run under Hydra."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return {}
    return {k: v for k, v in HydraConfig.get().runtime.choices.items() if not k.startswith("hydra/")}


_jobs_started_in_this_process = 0


def _time_startup_from_job_start(callbacks: list[Any], job_started: float) -> None:
    """After a process's first job, seconds_to_first_step counts from the job's own start (multiruns)."""
    from nlp_transfer.callbacks.throughput import ThroughputMonitor

    for monitor in callbacks:
        if isinstance(monitor, ThroughputMonitor):
            monitor.start_clock_at(job_started)


def _throughput(callbacks: list[Any]) -> dict[str, Any]:
    from nlp_transfer.callbacks.throughput import ThroughputMonitor

    monitors = [c for c in callbacks if isinstance(c, ThroughputMonitor)]
    return monitors[0].summary() if monitors else {}


def _validator_selection(callbacks: list[Any]) -> dict[str, Any]:
    """Label-free validators' picks, the oracle and the per-point table (selection=default), else {}."""
    from nlp_transfer.callbacks.validator_selection import ValidatorSelection

    selectors = [c for c in callbacks if isinstance(c, ValidatorSelection)]
    return selectors[0].summary() if selectors else {}


def train(cfg: DictConfig) -> dict[str, Any]:
    """Run one job from a composed config and return its results record (also written to disk).

    The run dir belongs to one process at a time (run_lock) and to one config (run_identity): a rerun
    of the same config skips a finished run or resumes its last.ckpt, another config is refused.
    """
    global _jobs_started_in_this_process
    started = time.perf_counter()
    first_job_in_process = _jobs_started_in_this_process == 0
    _jobs_started_in_this_process += 1
    output_dir = Path(cfg.paths.output_dir)
    identity = run_identity(cfg)
    with RunLock(output_dir), Interruptions() as interruptions:
        if (finished := claim_run_dir(output_dir, identity, force=bool(cfg.get("force", False)))) is not None:
            return finished  # a rerun or requeue of a finished job is never retrained (nlp_transfer.resume)
        return _run_job(cfg, output_dir, identity, interruptions, started, first_job_in_process)


def _initial_record(cfg: DictConfig, identity: dict[str, Any]) -> dict[str, Any]:
    choices = _choices()
    return {
        "status": "running",
        "fingerprint": identity["fingerprint"],  # run_identity: what a rerun into this dir must match
        "config": {
            "choices": choices,
            "backbone": cfg.backbone.name,
            "strategy": choices.get("strategy") or cfg.strategy._target_.rsplit(".", 1)[-1],
            "task": cfg.task.name,
            "source": cfg.domain.source,
            "target": cfg.domain.target,
            "seed": cfg.seed,
            "oracle": bool(cfg.get("oracle", False)),
            "evaluate_on": cfg.get("evaluate_on", "pair"),
            "resolved": OmegaConf.to_container(cfg, resolve=True),
        },
        "env": environment(PROJECT_ROOT),
    }


def _check_and_store_data(output_dir: Path, identity: dict[str, Any], checksums: dict[str, str]) -> None:
    """The resumed attempt's data must be today's data; then the run dir's identity lists the checksums."""
    from nlp_transfer.distributed import global_rank

    check_data(output_dir, identity, checksums)
    if global_rank() == 0:
        write_identity(output_dir, identity)


def _run_job(
    cfg: DictConfig,
    output_dir: Path,
    identity: dict[str, Any],
    interruptions: Interruptions,
    started: float,
    first_job_in_process: bool,
) -> dict[str, Any]:
    """Build, fit, test and record one job in its (locked, claimed) run dir."""
    checkpoint_metric = checkpoint_metric_of(cfg)
    record = _initial_record(cfg, identity)
    exit_code = 1
    try:
        check_config(cfg)  # wrong-typed numeric keys, zero-step budgets: named before anything heavy loads
        import pytorch_lightning as pl
        from hydra.utils import instantiate

        from nlp_transfer.assembly import (
            build_callbacks,
            build_data_and_model,
            build_loggers,
            evaluate_checkpoint,
        )

        check_objective(str(cfg.optimized_metric), bool(cfg.get("oracle", False)), cfg.get("selection"))
        check_checkpoint_metric(checkpoint_metric, cfg.get("selection"))
        pl.seed_everything(cfg.seed, workers=True)
        log.info(
            "Building %s on %s: %s → %s",
            cfg.backbone.name,
            cfg.task.name,
            cfg.domain.source,
            cfg.domain.target,
        )
        datamodule, model = build_data_and_model(cfg)
        _check_and_store_data(output_dir, identity, datamodule.checksums)
        log.info("%s: %d trainable parameters", type(model).__name__, model.trainable_parameter_count())
        callbacks = build_callbacks(cfg)
        if not first_job_in_process:
            _time_startup_from_job_start(callbacks, started)
        loggers = build_loggers(cfg)
        trainer: pl.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)

        fit_started = time.perf_counter()
        if resume_from := resume_checkpoint(cfg, output_dir):  # ckpt_path=…, else the run dir's last.ckpt
            record["resumed_from"] = describe_checkpoint(resume_from)
        trainer.fit(model, datamodule=datamodule, ckpt_path=resume_from, weights_only=True)  # checkpoint_io
        fit_seconds = time.perf_counter() - fit_started

        # Metrics of the checkpoint chosen by checkpoint_metric (source validation or a label-free validator)
        best_path = getattr(trainer.checkpoint_callback, "best_model_path", "") or None
        metrics = evaluate_checkpoint(trainer, model, datamodule, "best" if best_path else None)

        if cfg.get("target_finetune"):
            from nlp_transfer.target_finetune import run_target_finetune

            log.info("Few-shot phase: fine-tuning on labeled %s train data", cfg.domain.target)
            record["target_finetune"] = run_target_finetune(cfg, model.encoder, str(output_dir))

        record.update(
            status="ok",
            metrics=metrics,
            selection={
                "validator": checkpoint_metric,
                "checkpoint": best_path,
                "objective": cfg.optimized_metric,
                **_validator_selection(callbacks),
            },
            data={"checksums": datamodule.checksums},
            predictions=prediction_files(output_dir),  # per-example test rows, for `nlp-transfer compare`
            cost={
                "fit_seconds": round(fit_seconds, 2),
                "train_steps": trainer.global_step,
                "trainable_parameters": model.trainable_parameter_count(),
                **_throughput(callbacks),
            },
        )
        record["selection"]["score"] = objective_value(record, checkpoint_metric)
        record["selection"]["objective_value"] = objective_value(record, str(cfg.optimized_metric))
        exit_code = 0
        return record
    except BaseException as err:
        if (interrupted := interruptions.as_error(err)) is not None:
            record.update(status="interrupted", error=str(interrupted))  # resumable: the rerun resumes
            raise interrupted from err
        record.update(status="failed", error=f"{type(err).__name__}: {err}")
        raise
    finally:
        record.setdefault("cost", {})
        record["cost"]["wall_seconds"] = round(time.perf_counter() - started, 2)
        record["cost"]["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        from nlp_transfer.distributed import global_rank

        if global_rank() == 0:  # under DDP every rank runs train(); one results.json
            write_results(output_dir, record)
        from nlp_transfer.tracking import finish_wandb

        finish_wandb(exit_code)


SUMMARY_METRICS = ("acc", "macro_f1", "f1")


def _print_summary(record: dict[str, Any]) -> None:
    """The run's headline numbers: source validation and target test, for each metric the task has."""
    metrics = record["metrics"]
    cfg = record["config"]
    lines = [f"{cfg['strategy']} on {cfg['task']} {cfg['source']} → {cfg['target']} ({cfg['backbone']}):"]
    for split in ("source/val", "target/test"):
        for name in SUMMARY_METRICS:
            if f"{split}/{name}" in metrics:
                key = f"{split}/{name}"
                lines.append(f"  {key:22s} {metrics[key]:.4f}")
    few_shot = record.get("target_finetune")
    if few_shot:
        lines.append(
            f"  after few-shot target training ({few_shot['label_space']} labels, uses target labels):"
        )
        for name in SUMMARY_METRICS:
            if f"target/test/{name}" in few_shot["metrics"]:
                lines.append(
                    f"  {'target/test/' + name:22s} {few_shot['metrics'][f'target/test/{name}']:.4f}"
                )
    print("\n".join(lines), flush=True)


def _in_multirun() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def main(cfg: DictConfig) -> float | None:
    """`python train.py [overrides]`: train one job (or one job per combination with `-m`).

    In a multirun a failing job is logged and recorded (status `failed` in its results.json) and the
    sweep goes on; the sweep's exit code is then non-zero (see callbacks/sweep_status.py).
    """
    try:
        record = train(cfg)
    except RunInterrupted as interrupted:  # also ends a multirun: the same command resumes it
        log.error("Run %s; recorded as interrupted, the same command resumes it.", interrupted)
        sys.exit(interrupted.exit_code)
    except Exception:
        if not _in_multirun():
            raise
        log.exception("This job failed; its error is in results.json and the sweep goes on.")
        return None
    _print_summary(record)
    print_run_location(cfg.paths.output_dir)  # run dir, results.json and, for offline W&B, `wandb sync …`
    metric = cfg.get("optimized_metric")
    return objective_value(record, str(metric)) if metric else None


if __name__ == "__main__":
    main()
