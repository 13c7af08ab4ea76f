"""`nlp-transfer export run_dir=… [out=…]`: a finished run as a Hugging Face model folder.

The folder holds `config.json` (with `id2label`/`label2id` from the task's label space),
`model.safetensors`, the tokenizer (its `model_max_length` set to the run's `task.max_length`, so
`truncation=True` cuts where training cut) and a model card `README.md` (model_card.py). The weights are
the run's chosen model, found and loaded by `run_weights` as eval.py loads them; which runs map exactly
onto a Hugging Face class is decided in hf_model.py. `predict run_dir=…` builds the same model in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nlp_transfer.checkpoint_identity import IDENTITY_KEY, check_identity
from nlp_transfer.results.record import RunRecord

EXPORT_DIR = "hf_model"
#: the tokenizer side a task's `truncation` keeps; `head_tail` has no Hugging Face equivalent
TRUNCATION_SIDE = {"head": "right", "tail": "left"}

SEQUENCE_NOTE = (
    "The run classifies the last hidden state of the first token ([CLS]) with one linear layer `W h + b`. "
    "`BertForSequenceClassification` puts its pooler `tanh(W_p h + b_p)` in between, so the export sets "
    "`W_p = 1e-4 · I`, `b_p = 0` and the classifier to `W / 1e-4`: as tanh(x) = x - x³/3 + …, the logits "
    "equal the run's up to a relative error below 1e-5 (tested: identical labels). Keep the model in "
    "float32, and fine-tune it further knowing that its pooler is this near-identity."
)
TOKEN_NOTE = (
    "The run classifies every sub-token's last hidden state with one linear layer, as "
    "`…ForTokenClassification` does: the weights map one to one. A word's tag is its first sub-token's."
)


@dataclass(frozen=True)
class RunModel:
    """A run's chosen model as a Hugging Face model and tokenizer, with the run's record."""

    model: Any
    tokenizer: Any
    record: RunRecord
    level: str
    weights: Path


def _level_and_labels(state: dict[str, Any], cfg: Any, path: Path) -> tuple[str, list[str]]:
    """The task level and label names stored in the weights' identity, checked against the run."""
    identity = state.get(IDENTITY_KEY)
    if not identity or not identity.get("label_names"):
        raise ValueError(f"{path} holds no identity block with label names, so its labels are unknown")
    check_identity(state, {"task": cfg.task.name, "backbone": cfg.backbone.name}, path)
    return str(identity["level"]), list(identity["label_names"])


def run_hf_model(run_dir: str | Path, checkpoint: str = "best") -> RunModel:
    """The run's chosen model (or `checkpoint=last|<path>`) as `AutoModelFor…Classification` + tokenizer.

    Refused (NotExportableError) when the run's head has no exact Hugging Face equivalent (hf_model.py).
    """
    from omegaconf import OmegaConf

    from nlp_transfer.assembly import instantiate
    from nlp_transfer.export import hf_model
    from nlp_transfer.results.record import read_record
    from nlp_transfer.run_weights import load_run_weights

    path, state = load_run_weights(run_dir, checkpoint)
    record = read_record(run_dir)
    cfg = OmegaConf.create(record.config.resolved)
    level, label_names = _level_and_labels(state, cfg, path)
    strategy = OmegaConf.to_container(cfg.strategy, resolve=True)
    encoder = instantiate(cfg.backbone.encoder)
    hf_model.check_exportable(strategy, level, encoder.config.model_type)
    run = record.config
    facts = {"strategy": run.strategy, "task": run.task, "source": run.source, "target": run.target,
             "run_fingerprint": record.fingerprint, "level": level}  # fmt: skip
    config = hf_model.hf_config(encoder.config, label_names, facts)
    del encoder
    weights = state["state_dict"]
    model = hf_model.build_hf_model(
        config, level, hf_model.encoder_state(weights, strategy), hf_model.head_linear(weights)
    )
    tokenizer = instantiate(cfg.backbone.tokenizer)
    tokenizer.model_max_length = int(cfg.task.max_length)
    tokenizer.truncation_side = TRUNCATION_SIDE.get(str(cfg.task.get("truncation", "head")), "right")
    return RunModel(model, tokenizer, record, level, path)


def export_run(run_dir: str | Path, out: str | Path | None = None, checkpoint: str = "best") -> Path:
    """Write the run's model folder (default `<run_dir>/hf_model`); returns it."""
    from nlp_transfer.export.model_card import model_card

    run_dir = Path(run_dir)
    out = Path(out) if out is not None else run_dir / EXPORT_DIR
    if out.exists() and any(out.iterdir()) and not (out / "config.json").is_file():
        raise FileExistsError(f"out={out} is a folder holding other files: export into a new or empty folder")
    exported = run_hf_model(run_dir, checkpoint)
    out.mkdir(parents=True, exist_ok=True)
    exported.model.save_pretrained(out)
    exported.tokenizer.save_pretrained(out)
    note = TOKEN_NOTE if exported.level == "token" else SEQUENCE_NOTE
    truncation = exported.record.config.resolved.get("task", {}).get("truncation", "head")
    if truncation not in TRUNCATION_SIDE:
        note += (
            f" The run cut long texts with truncation={truncation}, which the tokenizer cannot do: "
            "texts longer than model_max_length are cut at the end here."
        )
    (out / "README.md").write_text(
        model_card(run_dir, exported.record, exported.level, note), encoding="utf-8"
    )
    return out
