"""Few-shot target training after transfer (the CrossNER setting): a second, supervised phase.

The encoder that came out of source training gets a new head and is fine-tuned on the target domain's
labeled train split, its checkpoint chosen on target validation. With `label_space: target` the head
predicts the target's own labels (for NER, its own entity types such as `algorithm` or `politician`),
found in the target's files; with `shared` it keeps the task's label set and mapping. Target labels are
used here on purpose, so the result is stored apart and marked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from nlp_transfer.data.datasets_conversion import converted_split, datasets_cache_root
from nlp_transfer.data.datasets_source import parse_sources
from nlp_transfer.data.jsonl import read_classification_split, read_token_split, split_path
from nlp_transfer.strategy_declaration import constructor_config

SPLITS = ("train", "validation", "test")


def _split_file(task: DictConfig, domain: str, split: str) -> Path:
    """A split's JSONL file: the layout's, or the one its `datasets` source becomes (labels unchecked)."""
    sources = parse_sources(task.get("sources"))
    if domain not in sources:
        return split_path(task.data_dir, domain, split)
    level = "token" if "entity_types" in task else "sequence"
    return converted_split(sources[domain], split, level, None, datasets_cache_root(task.get("cache_dir")))


def target_label_overrides(task: DictConfig, domain: str) -> dict[str, Any]:
    """Task-config overrides giving the target's own label set (no mapping), read from its files."""
    if "entity_types" in task:
        types = set()
        for split in SPLITS:
            _, tags = read_token_split(_split_file(task, domain, split))
            types |= {tag[2:] for sentence in tags for tag in sentence if tag != "O"}
        return {"entity_types": sorted(types), "label_map": None}
    labels = set()
    for split in SPLITS:
        labels |= set(read_classification_split(_split_file(task, domain, split))[1])
    return {"labels": sorted(labels), "label_map": None}


def _renamed(metrics: dict[str, float]) -> dict[str, float]:
    """In this phase the DataModule's 'source' is the target: report target/val/* and target/test/*."""
    renamed = {}
    for key, value in metrics.items():
        if key.startswith("source/val/"):
            renamed["target/val/" + key.removeprefix("source/val/")] = value
        elif key.startswith("target/test/"):
            renamed[key] = value
    return renamed


def run_target_finetune(cfg: DictConfig, encoder: Any, output_dir: str) -> dict[str, Any]:
    """Fine-tune `encoder` on the labeled target train split; return the phase's record."""
    import pytorch_lightning as pl
    from pytorch_lightning.callbacks import ModelCheckpoint

    from nlp_transfer.assembly import evaluate_checkpoint, instantiate
    from nlp_transfer.callbacks.nan_guard import NanLossGuard

    phase = cfg.target_finetune
    if phase.label_space not in ("target", "shared"):
        raise ValueError(
            f"target_finetune.label_space must be 'target' or 'shared', got {phase.label_space!r}"
        )
    target = cfg.domain.target
    overrides: dict[str, Any] = {"source": target, "target": target}
    if phase.label_space == "target":
        overrides |= target_label_overrides(cfg.task, target)
    task_cfg = OmegaConf.merge(cfg.task, overrides)
    datamodule = instantiate(
        task_cfg, tokenizer=instantiate(cfg.backbone.tokenizer), with_target_unlabeled=False
    )
    datamodule.setup("fit")
    model = instantiate(
        constructor_config(phase.strategy), encoder=encoder, label_names=datamodule.label_names,
        level=datamodule.level, _convert_="all",
    )  # fmt: skip
    model.run_names = {"task": cfg.task.name, "backbone": cfg.backbone.name}  # its checkpoints' identity
    model.predictions_dir = f"{output_dir}/predictions/target_finetune"  # beside, not over, the main run's
    checkpoint = ModelCheckpoint(
        dirpath=f"{output_dir}/checkpoints/target_finetune", filename="best-epoch{epoch:02d}-step{step}",
        auto_insert_metric_name=False, monitor=cfg.task.selection_metric, mode="max", save_top_k=1,
    )  # fmt: skip
    trainer_cfg = OmegaConf.merge(cfg.trainer, phase.trainer, {"default_root_dir": output_dir})
    trainer: pl.Trainer = instantiate(trainer_cfg, callbacks=[checkpoint, NanLossGuard()], logger=False)
    trainer.fit(model, datamodule=datamodule)
    ckpt = "best" if checkpoint.best_model_path else None
    metrics = evaluate_checkpoint(trainer, model, datamodule, ckpt, verbose=False)
    return {
        "target_labels_used": True,
        "label_space": phase.label_space,
        "labels": datamodule.label_names,
        "train_examples": len(datamodule.datasets["source_train"]),
        "checkpoint": checkpoint.best_model_path or None,
        "train_steps": trainer.global_step,
        "metrics": _renamed(metrics),
    }
