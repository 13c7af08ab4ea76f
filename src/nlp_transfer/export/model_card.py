"""The exported model's README.md (a Hugging Face model card), written from the run's results.json.

It says what the model is (backbone, strategy, source → target), what it measured (with a 95% Wilson
score interval for accuracies, whose test-set size is known from the run's prediction files), what it
cost, which data files it was trained on (sha256), and the caveat that matters for transfer results:
the target test metric was measured once, after training, and never used to choose this model.
"""

from __future__ import annotations

import math
from pathlib import Path

from nlp_transfer.results.record import RunRecord

Z_95 = 1.959963984540054  # the standard normal's 97.5% quantile


def wilson_interval(successes: float, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a proportion (Wilson 1927): centre (p + z²/2n) / (1 + z²/n),
    half-width z·sqrt(p(1-p)/n + z²/4n²) / (1 + z²/n); it stays in [0, 1] even at p = 0 or 1."""
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return centre - half, centre + half


def _test_sizes(run_dir: Path, record: RunRecord) -> dict[str, int]:
    """{`source`/`target`: examples tested}, from the run's prediction files (when it wrote them)."""
    from nlp_transfer.results.predictions import read_predictions

    sizes = {}
    for side, domain in (("source", record.config.source), ("target", record.config.target)):
        name = (record.predictions or {}).get(f"{domain}_test")
        if name and (run_dir / name).is_file():
            sizes[side] = len(read_predictions(run_dir / name).index)
    return sizes


def metric_rows(run_dir: Path, record: RunRecord) -> list[str]:
    """Markdown rows `| split | metric | value | 95% interval |` of the headline metrics."""
    sizes = _test_sizes(run_dir, record)
    rows = []
    for split in ("target/test", "source/test", "source/val"):
        for name in ("acc", "macro_f1", "f1", "precision", "recall"):
            value = record.metric(f"{split}/{name}")
            if value is None:
                continue
            n = sizes.get(split.split("/")[0]) if split.endswith("test") else None
            interval = "—"
            if name == "acc" and n:
                low, high = wilson_interval(value * n, n)
                interval = f"[{low:.4f}, {high:.4f}] (Wilson, n={n})"
            rows.append(f"| {split} | {name} | {value:.4f} | {interval} |")
    return rows


def _budget(record: RunRecord) -> str:
    """One line: steps, epochs/step limits, batch size, learning rate, precision and time."""
    resolved, cost = record.config.resolved, record.cost
    trainer, task = resolved.get("trainer") or {}, resolved.get("task") or {}
    lr = ((resolved.get("strategy") or {}).get("optimizer") or {}).get("lr")
    return (
        f"{cost.train_steps} optimizer steps (trainer.max_epochs={trainer.get('max_epochs')}, "
        f"max_steps={trainer.get('max_steps')}, limit_train_batches={trainer.get('limit_train_batches')}), "
        f"batch size {task.get('batch_size')}, learning rate {lr}, max_length {task.get('max_length')} "
        f"tokens, precision {cost.precision}, {cost.fit_seconds} s of training"
    )


def _checksum_rows(run_dir: Path, record: RunRecord) -> list[str]:
    """`| split | sha256 |` for each data file, from run_identity.json (else results.json's data)."""
    from nlp_transfer.run_identity import stored_identity

    checksums = (stored_identity(run_dir) or {}).get("data") or (record.data or {}).get("checksums") or {}
    return [f"| {split} | `{digest}` |" for split, digest in sorted(checksums.items())]


SEQUENCE_INPUTS = 'inputs = tokenizer(["A text."], truncation=True, padding=True, return_tensors="pt")'
TOKEN_INPUTS = (
    'inputs = tokenizer([["Jane", "lives", "in", "Paris"]], is_split_into_words=True, truncation=True, '
    'return_tensors="pt")'
)
#: per task level: (HF class, pipeline tag, how to tokenize, how logits become labels)
USAGE = {
    "sequence": ("AutoModelForSequenceClassification", "text-classification", SEQUENCE_INPUTS,
                 "logits.argmax(-1)"),
    "token": ("AutoModelForTokenClassification", "token-classification", TOKEN_INPUTS,
              "logits.argmax(-1)  # a word's tag is its first sub-token's"),
}  # fmt: skip


def _header(record: RunRecord, level: str) -> list[str]:
    cfg = record.config
    auto, pipeline, _, _ = USAGE[level]
    return [
        "---",
        "library_name: transformers",
        f"pipeline_tag: {pipeline}",
        f"tags: [nlp-transfer, transfer-learning, {cfg.strategy}, {cfg.task}]",
        "---",
        "",
        f"# {cfg.strategy} · {cfg.backbone} · {cfg.task}: {cfg.source} → {cfg.target}",
        "",
        f"An `{auto}` exported by nlp-transfer (`nlp-transfer export`) from one "
        f"training run: the `{cfg.strategy}` strategy transferred the `{cfg.backbone}` backbone from labeled "
        f"`{cfg.source}` data to the `{cfg.target}` domain of the `{cfg.task}` task (seed {cfg.seed}).",
    ]


def _usage(level: str) -> list[str]:
    auto, _, tokenize, predict = USAGE[level]
    return [
        "## Use", "", "```python", "import torch",
        f"from transformers import {auto}, AutoTokenizer", "",
        f'model = {auto}.from_pretrained("<this folder>").eval()',
        'tokenizer = AutoTokenizer.from_pretrained("<this folder>")', tokenize,
        "with torch.no_grad():", "    logits = model(**inputs).logits",
        f"labels = {predict}  # names: model.config.id2label", "```", "",
        "Or `nlp-transfer predict model=<this folder> input=<file.jsonl|file.txt|->`.",
    ]  # fmt: skip


def model_card(run_dir: Path, record: RunRecord, level: str, mapping_note: str) -> str:
    """The README.md of an exported run (see the module docstring)."""
    cfg, selection = record.config, record.selection
    chosen_by = selection.checkpoint_metric if selection else "the last step"
    sees_target = ((cfg.resolved.get("strategy") or {}).get("uses_target_data")) is True
    lines = _header(record, level) + ["", *_usage(level), "", "## Training", ""]
    lines += [
        f"- Strategy: `{cfg.strategy}`; labeled data: `{cfg.source}` only; unlabeled `{cfg.target}` text: "
        f"{'yes' if sees_target else 'no'}.",
        f"- Checkpoint chosen by `{chosen_by}` (never a target label).",
        f"- Budget: {_budget(record)}.",
        f"- Run fingerprint `{record.fingerprint}`; code commit `{(record.env or {}).get('git_commit')}`.",
        "", "## Metrics", "",
        "| split | metric | value | 95% interval |", "|---|---|---|---|", *metric_rows(run_dir, record), "",
        f"**Caveat.** The target metrics (`target/test/…`) were measured once on `{cfg.target}`'s test split "
        "after training; they were not used to choose this model or its checkpoint, so they estimate how it "
        "transfers, but they are one run of one seed: compare strategies over several seeds.",
        "", "## Data (sha256 of the files it was trained and tested on)", "",
        "| split | sha256 |", "|---|---|", *_checksum_rows(run_dir, record),
        "", "## How the export maps the model", "", mapping_note, "",
    ]  # fmt: skip
    return "\n".join(lines)
