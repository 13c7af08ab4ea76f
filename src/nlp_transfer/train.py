"""The Hydra entry point for training: the recipe check → build → fit → evaluate → record (results.json).

Heavy libraries are imported inside `train()`, so `python train.py --help` and `--cfg job`
stay fast. The function returns the metric named by `optimized_metric` for sweepers.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from nlp_transfer.checkpoint_retention import (
    check_keep_checkpoints,
    keep_chosen_weights,
    remove_full_checkpoints,
)
from nlp_transfer.config import CONFIG_DIR, PROJECT_ROOT, register_resolvers
from nlp_transfer.console import print_run_location
from nlp_transfer.interruption import Interruptions, RunInterrupted
from nlp_transfer.job import Job, recorded_outcome, start_job
from nlp_transfer.objective import (
    check_checkpoint_metric,
    check_objective,
    checkpoint_metric_of,
    objective_value,
)
from nlp_transfer.precision import used_precision
from nlp_transfer.preflight import check_config
from nlp_transfer.results.predictions import prediction_files
from nlp_transfer.results.record import Cost, RunConfig, RunRecord, Selection, callback_sections, environment
from nlp_transfer.resume import claim_run_dir, describe_checkpoint, resume_checkpoint
from nlp_transfer.run_identity import check_data, run_identity, write_identity
from nlp_transfer.run_lock import RunDirLocked, RunLock
from nlp_transfer.source_domains import checked_sources, source_name

log = logging.getLogger(__name__)
register_resolvers()


def _choices() -> dict[str, Any]:
    """The config-group choices of this run (backbone=…, strategy=…), when run under Hydra."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return {}
    return {k: v for k, v in HydraConfig.get().runtime.choices.items() if not k.startswith("hydra/")}


@dataclass(frozen=True)
class BuiltRun:
    """What `build` makes for the recipe's later steps."""

    datamodule: Any
    model: Any
    trainer: Any
    callbacks: list[Any]


def train(cfg: DictConfig) -> RunRecord:
    """Run one job from a composed config and return its results record (also written to disk).

    The run dir belongs to one process at a time (run_lock) and to one config (run_identity): a rerun
    of the same config skips a finished run or resumes its last.ckpt, another config is refused.
    """
    job = start_job()
    output_dir = Path(cfg.paths.output_dir)
    identity = run_identity(cfg)
    with RunLock(output_dir), Interruptions() as interruptions:
        if (finished := claim_run_dir(output_dir, identity, force=bool(cfg.get("force", False)))) is not None:
            return finished  # a rerun or requeue of a finished job is never retrained (nlp_transfer.resume)
        record = new_record(cfg, identity)
        with recorded_outcome(record, output_dir, interruptions, job):  # failed/interrupted, always written
            check_run(cfg)
            run = build(cfg, output_dir, identity, job)
            fit(run, record, cfg, output_dir)
            evaluate(run, record, cfg, output_dir)
        if keep_checkpoints(cfg) == "chosen":  # results.json (ok, naming the kept weights) is written
            remove_full_checkpoints(output_dir)
        if cfg.get("export", False):
            export_finished_run(output_dir)
        return record


def export_finished_run(output_dir: Path) -> Path | None:
    """`export=true`: the finished run's chosen model as a Hugging Face folder (rank 0). A model that cannot
    be exported (a head no HF class holds exactly) is logged with the reason; the run itself stays ok."""
    from nlp_transfer.distributed import global_rank
    from nlp_transfer.export.run_export import export_run

    if global_rank() != 0:
        return None
    try:
        folder = export_run(output_dir)
    except (ValueError, NotImplementedError) as err:
        log.error("export=true: the run finished, but its model was not exported: %s", err)
        return None
    log.info("Exported the chosen model as a Hugging Face folder: %s", folder)
    return folder


def new_record(cfg: DictConfig, identity: dict[str, Any]) -> RunRecord:
    """The record of a run that has just started: what it is, where, and on which software."""
    choices = _choices()
    config = RunConfig(
        choices=choices,
        backbone=cfg.backbone.name,
        strategy=choices.get("strategy") or cfg.strategy._target_.rsplit(".", 1)[-1],
        task=cfg.task.name,
        source=source_name(cfg.domain.source),  # `books+dvd+electronics` for a pooled source
        target=cfg.domain.target,
        seed=cfg.seed,
        oracle=bool(cfg.get("oracle", False)),
        evaluate_on=cfg.get("evaluate_on", "pair"),
        resolved=OmegaConf.to_container(cfg, resolve=True),
    )
    # fingerprint (run_identity): what a rerun into this dir must match
    return RunRecord(
        status="running", fingerprint=identity["fingerprint"], config=config, env=environment(PROJECT_ROOT)
    )


def check_run(cfg: DictConfig) -> None:
    """Refuse, before anything heavy loads, a config that cannot run or would select on target labels."""
    check_config(cfg)  # wrong-typed numeric keys, zero-step budgets
    keep_checkpoints(cfg)  # chosen | all
    checked_sources(cfg.domain.source, cfg.domain.target)  # no target among several sources
    check_objective(str(cfg.optimized_metric), bool(cfg.get("oracle", False)), cfg.get("selection"))
    check_checkpoint_metric(checkpoint_metric_of(cfg), cfg.get("selection"))


def keep_checkpoints(cfg: DictConfig) -> str:
    """What a finished run keeps: `chosen` (the chosen weights only) or `all` (checkpoint_retention)."""
    return check_keep_checkpoints(cfg.get("keep_checkpoints", "chosen"))


def build(cfg: DictConfig, output_dir: Path, identity: dict[str, Any], job: Job) -> BuiltRun:
    """Seed, then data, model (checked against the run dir's data), callbacks, loggers and trainer."""
    import pytorch_lightning as pl
    from hydra.utils import instantiate

    from nlp_transfer.assembly import build_callbacks, build_data_and_model, build_loggers

    pl.seed_everything(cfg.seed, workers=True)
    log.info(
        "Building %s on %s: %s → %s",
        cfg.backbone.name,
        cfg.task.name,
        source_name(cfg.domain.source),
        cfg.domain.target,
    )
    datamodule, model = build_data_and_model(cfg)
    _check_and_store_data(output_dir, identity, datamodule.checksums)
    log.info("%s: %d trainable parameters", type(model).__name__, model.trainable_parameter_count())
    callbacks = build_callbacks(cfg)
    if not job.first_in_process:  # a multirun's later job: seconds_to_first_step from its own start
        for callback in callbacks:
            if hasattr(callback, "start_clock_at"):
                callback.start_clock_at(job.started)
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=build_loggers(cfg) or False)
    return BuiltRun(datamodule, model, trainer, callbacks)


def _check_and_store_data(output_dir: Path, identity: dict[str, Any], checksums: dict[str, str]) -> None:
    """The resumed attempt's data must be today's data; then the run dir's identity lists the checksums."""
    from nlp_transfer.distributed import global_rank

    check_data(output_dir, identity, checksums)
    if global_rank() == 0:
        write_identity(output_dir, identity)


def fit(run: BuiltRun, record: RunRecord, cfg: DictConfig, output_dir: Path) -> None:
    """Train, resuming `ckpt_path=…` or the run dir's last.ckpt; checkpoints are read weights-only."""
    fit_started = time.perf_counter()
    if resume_from := resume_checkpoint(cfg, output_dir):
        record.resumed_from = describe_checkpoint(resume_from)
    run.trainer.fit(run.model, datamodule=run.datamodule, ckpt_path=resume_from, weights_only=True)
    record.cost.fit_seconds = round(time.perf_counter() - fit_started, 2)


def evaluate(run: BuiltRun, record: RunRecord, cfg: DictConfig, output_dir: Path) -> None:
    """Test the checkpoint chosen by checkpoint_metric, run the few-shot phase, and complete the record."""
    from nlp_transfer.assembly import evaluate_checkpoint

    best_path = getattr(run.trainer.checkpoint_callback, "best_model_path", "") or None
    metrics = evaluate_checkpoint(run.trainer, run.model, run.datamodule, "best" if best_path else None)
    if cfg.get("target_finetune"):
        from nlp_transfer.target_finetune import run_target_finetune

        log.info("Few-shot phase: fine-tuning on labeled %s train data", cfg.domain.target)
        record.target_finetune = run_target_finetune(cfg, run.model.encoder, str(output_dir))
    sections = callback_sections(run.callbacks)  # the callbacks' own parts of `selection` and `cost`
    record.metrics = metrics
    checkpoint_metric = checkpoint_metric_of(cfg)
    kept = (
        {"weights": keep_chosen_weights(output_dir, run.model, best_path)}
        if keep_checkpoints(cfg) == "chosen"
        else {}
    )
    record.selection = Selection(
        checkpoint_metric=checkpoint_metric,
        checkpoint=best_path,
        objective=str(cfg.optimized_metric),
        **kept,
        **sections.get("selection", {}),
    )
    record.selection.score = objective_value(record, checkpoint_metric)
    record.selection.objective_value = objective_value(record, str(cfg.optimized_metric))
    record.data = {"checksums": run.datamodule.checksums}
    record.predictions = prediction_files(output_dir)  # per-example test rows, for `nlp-transfer compare`
    record.cost = Cost(
        fit_seconds=record.cost.fit_seconds,
        train_steps=run.trainer.global_step,
        trainable_parameters=run.model.trainable_parameter_count(),
        precision=used_precision(run.trainer),  # recorded: auto picks it per machine
        **sections.get("cost", {}),
    )
    record.status = "ok"


SUMMARY_METRICS = ("acc", "macro_f1", "f1")


def _print_summary(record: RunRecord) -> None:
    """The run's headline numbers: source validation and target test, for each metric the task has."""
    metrics = record.metrics or {}
    cfg = record.config
    lines = [f"{cfg.strategy} on {cfg.task} {cfg.source} → {cfg.target} ({cfg.backbone}):"]
    for split in ("source/val", "target/test"):
        for name in SUMMARY_METRICS:
            if (value := metrics.get(f"{split}/{name}")) is not None:  # None: NaN, read back from disk
                lines.append(f"  {split + '/' + name:22s} {value:.4f}")
    few_shot = record.target_finetune
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
    sweep goes on; the sweep's exit code is then non-zero (see callbacks/sweep_status.py). A job whose
    run dir another process is training (its run.lock is held: the same sweep started in a second
    shell, or on another node) is skipped, not failed: several workers can share one sweep, each job
    trained by the first to reach it.
    """
    if _in_multirun():  # later jobs of this process copy the backbone the first one read
        from nlp_transfer.models.pretrained_memo import reuse_loaded_weights

        reuse_loaded_weights()
    try:
        record = train(cfg)
    except RunInterrupted as interrupted:  # also ends a multirun: the same command resumes it
        log.error("Run %s; recorded as interrupted, the same command resumes it.", interrupted)
        sys.exit(interrupted.exit_code)
    except RunDirLocked as held:
        if not _in_multirun():
            raise
        log.warning("Skipped here, another worker of this sweep is training it: %s", held)
        return None
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
