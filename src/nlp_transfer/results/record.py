"""`results.json`: the run as one typed record (`RunRecord`), written and read only here.

Every reader (the results tables, the objective, eval, resume, the sweep's exit code) goes through
`RunRecord`, so a key's meaning is stated once. `schema_version` 2 renamed `selection.validator` to
`selection.checkpoint_metric`; a record without a version is version 1 and is read by `from_dict`'s
migration. `selection` and `cost` also hold what callbacks contribute through `RecordSection`.
The JSON Schema committed in `schemas/results.schema.json` is generated from these classes
(`python -m nlp_transfer.results.record`) and a test keeps the two equal.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, ValidationError

RESULTS_FILE = "results.json"
SCHEMA_VERSION = 2
SCHEMA_FILE = Path(__file__).resolve().parents[3] / "schemas" / "results.schema.json"
#: a file to which every write appends the results.json path (set by the test suite, which validates them)
WRITTEN_LOG_ENV = "NLP_TRANSFER_WRITTEN_RESULTS_LOG"
TRACKED_PACKAGES = ("torch", "pytorch-lightning", "transformers", "hydra-core", "torchmetrics", "wandb")
#: what a record's config must name for the run to be placed anywhere (a table cell, a rerun)
REQUIRED_CONFIG = ("task", "strategy", "backbone", "source", "target")
#: top-level sections written only when the run has them (a failed run has no metrics)
OPTIONAL_SECTIONS = (
    "resumed_from",
    "target_finetune",
    "metrics",
    "selection",
    "data",
    "predictions",
    "error",
)

Status = Literal["running", "ok", "failed", "interrupted"]


class RecordError(ValueError):
    """A results.json that is no run record (or an incomplete one): the message says what is missing."""


#: assignments are checked too; a default is written, so the schema of a written record requires it
_STRICT = ConfigDict(
    extra="forbid", validate_assignment=True, json_schema_serialization_defaults_required=True
)
_OPEN = ConfigDict(_STRICT, extra="allow")


class _Section(BaseModel):
    model_config = _STRICT


class RunConfig(_Section):
    """What was run: the group choices, the headline names and the fully resolved config."""

    task: str
    strategy: str
    backbone: str
    source: str
    target: str
    seed: int | None = None
    choices: dict[str, Any] = {}
    oracle: bool = False
    evaluate_on: str = "pair"
    resolved: dict[str, Any] = {}

    @property
    def headline(self) -> str:
        """The task's headline metric name (`acc`, `macro_f1`, `f1`), from its selection metric."""
        task = self.resolved.get("task") or {}
        return str(task.get("selection_metric", "source/val/acc")).rsplit("/", 1)[-1]


class Selection(_Section):
    """The checkpoint pick (`checkpoint_metric`, its file and score) and the search objective's value.

    Open to the callbacks' picks: with selection=default, `validators`, `oracle`, `points`, `skipped`…
    """

    model_config = _OPEN
    checkpoint_metric: str
    checkpoint: str | None
    objective: str
    score: float | None = None
    objective_value: float | None = None


class Cost(_Section):
    """What the run cost; open to the throughput callback's numbers (`train_examples_per_s`, …)."""

    model_config = _OPEN
    fit_seconds: float | None = None
    train_steps: int | None = None
    trainable_parameters: int | None = None
    wall_seconds: float | None = None
    #: this job's own peak resident memory (job.py: reset per job on Linux; None where not told apart)
    peak_rss_mib: float | None = None
    #: the precision the trainer ran in (`bf16-mixed` where the hardware has native bf16; precision.py)
    precision: str | None = None


class RunRecord(_Section):
    """One run's `results.json`: how it ended, what it was, what it measured and what it cost."""

    schema_version: int = SCHEMA_VERSION
    status: Status
    fingerprint: str | None = None
    config: RunConfig
    env: dict[str, Any] = {}
    resumed_from: dict[str, Any] | None = None
    target_finetune: dict[str, Any] | None = None
    metrics: dict[str, float | None] | None = None
    selection: Selection | None = None
    data: dict[str, Any] | None = None
    predictions: dict[str, str] | None = None
    cost: Cost = Cost()
    error: str | None = None

    def metric(self, name: str) -> float | None:
        """A measured metric (None when the run did not measure it, or measured NaN)."""
        return (self.metrics or {}).get(name)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object written to disk (NaN/inf as null; absent sections left out)."""
        data = _jsonable(self.model_dump())
        return {k: v for k, v in data.items() if not (k in OPTIONAL_SECTIONS and v is None)}

    @classmethod
    def from_dict(cls, raw: Any) -> RunRecord:
        """The record of a parsed results.json, of any schema version; RecordError says what is wrong."""
        if not isinstance(raw, dict):
            raise RecordError(f"a {type(raw).__name__}, not a JSON object")
        raw = _migrate(raw)
        config = raw.get("config")
        if not isinstance(config, dict):
            raise RecordError("no config: the run's task, strategy and domain pair are unknown")
        if missing := [key for key in REQUIRED_CONFIG if not config.get(key)]:
            raise RecordError(f"config lacks {', '.join(missing)}")
        try:
            return cls.model_validate(raw)
        except ValidationError as err:
            raise RecordError(_describe(err)) from err


@dataclass(frozen=True)
class ValidationPoints:
    """A run's `selection.points` (callbacks/validator_selection.py): one row per validation point with its
    `step`, `source_val`, each validator's score and the target test metric (oracle-only, for judging)."""

    rows: list[dict[str, Any]]
    #: the name of the target test metric in each row (`target/test/acc`, ...)
    target_metric: str
    #: validator name → `max` or `min` (`selection.directions`); empty when the record holds none
    directions: dict[str, str]


def validation_points(raw: Mapping[str, Any]) -> ValidationPoints | str:
    """The validation points of a results.json (as read, not validated), or why it has none to read: it did
    not end ok, or trained with `selection=none` (the learning curves and the validator report read this)."""
    if raw.get("status") != "ok":
        return f"status {raw.get('status')}"
    selection = raw.get("selection") or {}
    points, metric = selection.get("points"), selection.get("target_metric")
    if not points or not metric:
        return "no validation points (trained with selection=none, or an older record)"
    return ValidationPoints(list(points), str(metric), dict(selection.get("directions") or {}))


def _migrate(raw: dict[str, Any]) -> dict[str, Any]:
    """Version 1 (no `schema_version`) → 2: `selection.validator` became `selection.checkpoint_metric`."""
    version = raw.get("schema_version", 1)
    if not isinstance(version, int) or not 1 <= version <= SCHEMA_VERSION:
        raise RecordError(f"schema_version {version!r}: this code reads versions 1 to {SCHEMA_VERSION}")
    if version == 1:
        raw = dict(raw, schema_version=SCHEMA_VERSION)
        if isinstance(raw.get("selection"), dict) and "validator" in raw["selection"]:
            selection = dict(raw["selection"])
            selection["checkpoint_metric"] = selection.pop("validator")
            raw["selection"] = selection
    return raw


def _describe(err: ValidationError) -> str:
    """`status: Input should be 'running', … (got 'done')` for the first few problems."""
    parts = [
        f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']} (got {str(e.get('input'))[:60]!r})"
        for e in err.errors()[:3]
    ]
    return "; ".join(parts)


@runtime_checkable
class RecordSection(Protocol):
    """A callback that adds to a section of the record: `summary()` is merged into `record_section`."""

    record_section: str

    def summary(self) -> dict[str, Any]: ...


def callback_sections(callbacks: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """{section: merged summaries} of every callback that follows `RecordSection`."""
    sections: dict[str, dict[str, Any]] = {}
    for callback in callbacks:
        if isinstance(callback, RecordSection):
            sections.setdefault(callback.record_section, {}).update(callback.summary())
    return sections


def _jsonable(value: Any) -> Any:
    """Plain JSON values; NaN/inf become None (JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item"):  # tensors and numpy scalars
        return _jsonable(value.item())
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    return str(value)


def write_results(output_dir: str | Path, record: RunRecord) -> Path:
    """Write `record` to `<output_dir>/results.json` (temp file + rename: never half a file)."""
    path = Path(output_dir) / RESULTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record.to_dict(), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    if written_log := os.environ.get(WRITTEN_LOG_ENV):  # tests/conftest.py checks each against the schema
        with open(written_log, "a", encoding="utf-8") as handle:
            handle.write(f"{path.resolve()}\n")
    return path


def _results_path(path: str | Path) -> Path:
    path = Path(path)
    return path / RESULTS_FILE if path.is_dir() else path


def read_results(path: str | Path) -> dict[str, Any]:
    """The JSON object of a results.json (a run dir or the file), as written; see `read_record`."""
    return json.loads(_results_path(path).read_text(encoding="utf-8"))


def read_record(path: str | Path) -> RunRecord:
    """The `RunRecord` of a run dir or results.json; RecordError (a ValueError) when it is none."""
    return RunRecord.from_dict(read_results(path))


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a written results.json (version `SCHEMA_VERSION`), generated from `RunRecord`."""
    schema = RunRecord.model_json_schema(mode="serialization")
    schema["required"] = [key for key in schema["required"] if key not in OPTIONAL_SECTIONS]
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"nlp-transfer/results/v{SCHEMA_VERSION}"
    return schema


def schema_text() -> str:
    """`json_schema()` as committed in SCHEMA_FILE (sorted keys, so a diff shows only real changes)."""
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def git_commit(repo_dir: str | Path) -> str | None:
    """The project's commit (with `-dirty` when the tree has changes), or None outside git."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo_dir, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo_dir,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def environment(repo_dir: str | Path) -> dict[str, Any]:
    """Versions, platform and commit: what someone needs to reproduce a row of a table."""
    versions = {}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
        "git_commit": git_commit(repo_dir),
    }


if __name__ == "__main__":  # regenerate the committed schema: python -m nlp_transfer.results.record
    SCHEMA_FILE.parent.mkdir(exist_ok=True)
    SCHEMA_FILE.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}", file=sys.stderr)
