"""Per-example test predictions: one compact `.npz` per tested split, so two runs compare example by example.

A run writes `<run dir>/predictions/<domain>_test.npz` (numpy, no pickles) holding

* the key: `task`, `domain`, `split`, `checksum` (sha256 of the split file), `level`, `label_names`, and
  `file_examples` (examples in the file as read, after `max_eval_examples`);
* `index`: each row's example index in the file (0-based over its non-blank lines), sorted ascending;
* sequence level: `gold` and `pred` label ids and `probs` (class probabilities, float16);
* token level (NER): `word_counts` (scored words per sentence: words past `max_length` are not scored)
  and `gold_tags`/`pred_tags`, the per-word tag ids of all sentences, concatenated.

Two runs line up when their keys and `index` agree (`same_examples`). Pure numpy: `nlp-transfer compare`
reads these without torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

PREDICTIONS_DIR = "predictions"
KEY_FIELDS = ("task", "domain", "split", "checksum", "level")


def prediction_file_name(domain: str, split: str = "test") -> str:
    return f"{domain}_{split}.npz"


def prediction_path(run_dir: str | Path, domain: str, split: str = "test") -> Path:
    """Where a run keeps one domain's predictions: `<run dir>/predictions/<domain>_<split>.npz`."""
    return Path(run_dir) / PREDICTIONS_DIR / prediction_file_name(domain, split)


def prediction_files(run_dir: str | Path) -> dict[str, str]:
    """{domain_split: path relative to the run dir} of a run's prediction files (for results.json)."""
    folder = Path(run_dir) / PREDICTIONS_DIR
    if not folder.is_dir():
        return {}
    return {p.stem: str(p.relative_to(run_dir)) for p in sorted(folder.glob("*.npz"))}


@dataclass
class Predictions:
    """One run's predictions on one split (see the module docstring for the fields)."""

    task: str
    domain: str
    split: str
    checksum: str
    level: str
    label_names: list[str]
    file_examples: int
    index: np.ndarray
    gold: np.ndarray  # sequence: (n,) label ids; token: (words,) tag ids
    pred: np.ndarray
    probs: np.ndarray | None = None  # sequence only: (n, classes)
    word_counts: np.ndarray | None = None  # token only: (n,) scored words per sentence

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(getattr(self, name) for name in KEY_FIELDS)

    def same_examples(self, other: Predictions) -> bool:
        """True when both hold the same split file's same examples with the same gold labels."""
        return (
            self.key == other.key
            and self.label_names == other.label_names
            and np.array_equal(self.index, other.index)
            and np.array_equal(self.gold, other.gold)
        )

    def sentences(self, tags: np.ndarray) -> list[np.ndarray]:
        """Token level: `gold` or `pred` split back into one array of tag ids per sentence."""
        if self.word_counts is None:
            raise ValueError("sentences() is for token-level (NER) predictions")
        return np.split(tags, np.cumsum(self.word_counts)[:-1])


def write_predictions(path: Path, predictions: Predictions) -> Path:
    """Write `predictions` as one compressed `.npz` (strings as unicode arrays: no pickles needed)."""
    arrays: dict[str, np.ndarray] = {name: np.array(getattr(predictions, name)) for name in KEY_FIELDS}
    arrays["label_names"] = np.array(predictions.label_names, dtype=str)
    arrays["file_examples"] = np.array(predictions.file_examples, dtype=np.int64)
    arrays["index"] = predictions.index.astype(np.int32)
    id_type = np.int16 if len(predictions.label_names) < 2**15 else np.int32
    if predictions.level == "token":
        arrays["gold_tags"] = predictions.gold.astype(id_type)
        arrays["pred_tags"] = predictions.pred.astype(id_type)
        arrays["word_counts"] = np.asarray(predictions.word_counts).astype(np.int32)
    else:
        arrays["gold"] = predictions.gold.astype(id_type)
        arrays["pred"] = predictions.pred.astype(id_type)
        arrays["probs"] = np.asarray(predictions.probs).astype(np.float16)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)  # a reader never sees half a file
    return path


def read_predictions(path: str | Path) -> Predictions:
    """Read a file written by `write_predictions` (never unpickles)."""
    with np.load(path, allow_pickle=False) as data:
        token = str(data["level"]) == "token"
        return Predictions(
            **{name: str(data[name]) for name in KEY_FIELDS},
            label_names=[str(n) for n in data["label_names"]],
            file_examples=int(data["file_examples"]),
            index=data["index"].astype(np.int64),
            gold=data["gold_tags" if token else "gold"].astype(np.int64),
            pred=data["pred_tags" if token else "pred"].astype(np.int64),
            probs=None if token else data["probs"],
            word_counts=data["word_counts"].astype(np.int64) if token else None,
        )
