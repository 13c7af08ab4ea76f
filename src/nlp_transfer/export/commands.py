"""`nlp-transfer export` and `nlp-transfer predict`: `key=value` arguments, as train.py and eval.py take.

    nlp-transfer export run_dir=logs/sentiment/runs/<run> [out=<folder>] [checkpoint=best|last|<path>]
    nlp-transfer predict run_dir=<run>|model=<exported folder> input=<file.jsonl|file.txt|-> [out=<file>]
        [batch_size=32] [format=jsonl|text] [checkpoint=best|last|<path>]

predict writes one JSON object per non-blank input line, in input order, to `out` (default stdout).
Every error a user can fix (a bad line, a missing run, a run that cannot be exported) is one line on stderr
and exit status 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

EXPORT_KEYS = ("run_dir", "out", "checkpoint")
PREDICT_KEYS = ("run_dir", "model", "input", "out", "batch_size", "format", "checkpoint")


class UsageError(ValueError):
    """Arguments that do not make a command: the message names the fix."""


def parse_pairs(tokens: list[str], allowed: tuple[str, ...]) -> dict[str, str]:
    """`["run_dir=x", "out=y"]` → `{"run_dir": "x", "out": "y"}`; unknown or malformed keys refused."""
    pairs = {}
    for token in tokens:
        key, sep, value = token.partition("=")
        if not sep or key not in allowed:
            raise UsageError(f"{token!r}: expected key=value with key one of {', '.join(allowed)}")
        pairs[key] = value
    return pairs


def user_errors() -> tuple[type[BaseException], ...]:
    """The errors that are the user's to fix, reported as one line rather than a traceback."""
    from nlp_transfer.checkpoint_io import CheckpointError
    from nlp_transfer.data.errors import DataError
    from nlp_transfer.export.hf_model import NotExportableError

    return (UsageError, DataError, NotExportableError, CheckpointError, FileNotFoundError, FileExistsError)


def export_command(tokens: list[str]) -> int:
    """Write the run's Hugging Face model folder and print where it is."""
    from nlp_transfer.export.run_export import export_run

    try:
        args = parse_pairs(tokens, EXPORT_KEYS)
        if "run_dir" not in args:
            raise UsageError("run_dir=<the run's folder> is required")
        out = export_run(args["run_dir"], args.get("out"), args.get("checkpoint", "best"))
    except user_errors() as err:
        print(f"nlp-transfer export: {err}", file=sys.stderr)
        return 2
    print(f"wrote Hugging Face model: {out}")
    return 0


def load_exported(folder: str | Path) -> tuple[Any, Any, str]:
    """(model, tokenizer, level) of an exported folder, with `transformers` only."""
    from transformers import (
        AutoConfig,
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
        AutoTokenizer,
    )

    if not (Path(folder) / "config.json").is_file():
        raise FileNotFoundError(
            f"model={folder} holds no config.json: pass a folder `nlp-transfer export` wrote"
        )
    config = AutoConfig.from_pretrained(folder)
    architectures = config.architectures or []
    token = any(name.endswith("ForTokenClassification") for name in architectures)
    level = (getattr(config, "nlp_transfer", None) or {}).get("level", "token" if token else "sequence")
    auto = AutoModelForTokenClassification if level == "token" else AutoModelForSequenceClassification
    return auto.from_pretrained(folder).eval(), AutoTokenizer.from_pretrained(folder), level


def _model(args: dict[str, str]) -> tuple[Any, Any, str]:
    if ("run_dir" in args) == ("model" in args):
        raise UsageError("give exactly one of run_dir=<a finished run> or model=<an exported folder>")
    if "model" in args:
        return load_exported(args["model"])
    from nlp_transfer.export.run_export import run_hf_model

    run = run_hf_model(args["run_dir"], args.get("checkpoint", "best"))
    return run.model, run.tokenizer, run.level


def predict_command(tokens: list[str]) -> int:
    """Predict every input line and write the JSONL results (see the module docstring)."""
    import torch

    from nlp_transfer.export.predict_inputs import read_inputs
    from nlp_transfer.export.predictor import predict

    try:
        args = parse_pairs(tokens, PREDICT_KEYS)
        if "input" not in args:
            raise UsageError("input=<file.jsonl|file.txt|-> is required (- reads stdin)")
        model, tokenizer, level = _model(args)
        rows = read_inputs(args["input"], level, args.get("format"))
        batch_size = int(args.get("batch_size", 32))
    except user_errors() as err:
        print(f"nlp-transfer predict: {err}", file=sys.stderr)
        return 2
    model.to("cuda" if torch.cuda.is_available() else "cpu")
    out = Path(args["out"]).open("w", encoding="utf-8") if "out" in args else sys.stdout
    try:
        for result in predict(model, tokenizer, rows, level, batch_size=batch_size):
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    return 0
