"""Domains read through Hugging Face `datasets` (local CSV/TSV/JSON/Parquet files, a save_to_disk folder)
become the same records as the JSONL layout, with the layout's checks and errors naming the fix."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from nlp_transfer.data.datasets_conversion import converted_split
from nlp_transfer.data.datasets_source import DatasetsSource, parse_sources
from nlp_transfer.data.errors import DataError
from nlp_transfer.data.jsonl import read_classification_split, read_token_split
from nlp_transfer.data.label_space import LabelSpace
from nlp_transfer.data.token_classification import bio_label_space

SPLITS = ("train", "validation", "test")
LABELS = LabelSpace(["negative", "positive"])
REVIEWS = {
    "train": [("Broke in a day, the wheels fell off.", "negative"), ("My son loves this truck!", "positive")],
    "validation": [("NA", "negative"), ('Great, "sturdy", fun', "positive")],  # "NA" must stay text
    "test": [("null", "positive"), ("Meh.\tNot again.", "negative")],
}


def write_table(path: Path, rows: list[tuple[str, str]], delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


def dataset_dict(folder: Path, splits: dict[str, list[dict]], features: dict | None = None) -> Any:
    """A DatasetDict of the rows, through `datasets`' JSON loader (and a cast to `features`).

    Built from files, not `Dataset.from_dict`: with datasets 5.2 + dill 0.4.1 the latter fails to
    fingerprint an in-memory Arrow table (PicklingError on pyarrow's MonthDayNano)."""
    import datasets

    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, rows in splits.items():
        files[name] = str(folder / f"{name}.rows.jsonl")
        Path(files[name]).write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    loaded = datasets.load_dataset("json", data_files=files, cache_dir=str(folder / "hf"))
    return loaded.cast(datasets.Features(features)) if features else loaded


def save_reviews_to_disk(folder: Path, split_names: dict[str, str] | None = None) -> Path:
    """A DatasetDict with a ClassLabel label column (integer ids on disk), as hub datasets store them."""
    import datasets

    rows = {
        (split_names or {}).get(split, split): [
            {"text": text, "label": LABELS.names.index(label)} for text, label in reviews
        ]
        for split, reviews in REVIEWS.items()
    }
    features = {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=LABELS.names)}
    dataset_dict(folder / "build", rows, features).save_to_disk(str(folder / "saved"))
    return folder / "saved"


def convert(
    spec: dict, tmp_path: Path, split: str = "train", labels: LabelSpace = LABELS, level: str = "sequence"
) -> Path:
    """The JSONL file one split of the domain `toys` becomes."""
    (source,) = parse_sources({"toys": spec}).values()
    return converted_split(source, split, level, labels, tmp_path / "cache")


def file_spec(tmp_path: Path, suffix: str) -> dict:
    """The reviews as one file per split in the given format."""
    import pyarrow
    import pyarrow.parquet

    files = {}
    for split, rows in REVIEWS.items():
        path = tmp_path / f"{split}{suffix}"
        if suffix in (".csv", ".tsv"):
            write_table(path, rows, "\t" if suffix == ".tsv" else ",")
        elif suffix == ".jsonl":
            path.write_text("".join(json.dumps({"text": t, "label": lab}) + "\n" for t, lab in rows))
        else:
            table = pyarrow.table({"text": [t for t, _ in rows], "label": [lab for _, lab in rows]})
            pyarrow.parquet.write_table(table, str(path))
        files[split] = str(path)
    return {"files": files}


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet", "disk"])
def test_every_format_becomes_the_records_of_the_jsonl_layout(suffix: str, tmp_path: Path) -> None:
    spec = (
        {"disk": str(save_reviews_to_disk(tmp_path / "saved"))}
        if suffix == "disk"
        else file_spec(tmp_path, suffix)
    )
    for split, rows in REVIEWS.items():
        texts, labels = read_classification_split(convert(spec, tmp_path, split))
        assert list(zip(texts, labels, strict=True)) == rows


def test_conversion_is_cached_and_rewritten_only_when_the_source_changes(tmp_path: Path) -> None:
    spec = file_spec(tmp_path, ".csv")
    path = convert(spec, tmp_path)
    before = path.stat().st_mtime_ns
    assert convert(spec, tmp_path) == path and path.stat().st_mtime_ns == before
    write_table(Path(spec["files"]["train"]), [("Changed my mind.", "negative")])
    assert read_classification_split(convert(spec, tmp_path))[0] == ["Changed my mind."]


def test_split_names_and_columns_are_mapped(tmp_path: Path) -> None:
    folder = tmp_path / "saved"
    dataset_dict(tmp_path / "build", {"dev": [{"review": "Solid.", "stars": 1}]}).save_to_disk(str(folder))
    spec = {
        "disk": str(folder), "splits": {"validation": "dev"},
        "text_column": "review", "label_column": "stars", "label_names": ["negative", "positive"],
    }  # fmt: skip
    assert read_classification_split(convert(spec, tmp_path, "validation")) == (["Solid."], ["positive"])


def test_a_missing_column_names_the_columns_and_the_setting(tmp_path: Path) -> None:
    spec = {**file_spec(tmp_path, ".csv"), "text_column": "review"}
    with pytest.raises(DataError, match=r"no column 'review'; its columns are \['text', 'label'\].*"
                                        r"task\.sources\.toys\.text_column=<column>"):  # fmt: skip
        convert(spec, tmp_path)


def test_an_unknown_label_names_the_source_and_the_fix(tmp_path: Path) -> None:
    spec = file_spec(tmp_path, ".csv")
    write_table(Path(spec["files"]["train"]), [("So-so.", "neutral")])
    unknown = r"Labels \['neutral'\] in toys.train \(file .*train\.csv\) are not in the task's label set.*map"
    with pytest.raises(DataError, match=unknown):
        convert(spec, tmp_path)
    mapped = LabelSpace(LABELS.names, {"toys": {"neutral": "negative"}})
    assert read_classification_split(convert(spec, tmp_path, labels=mapped))[1] == ["neutral"]


def test_integer_labels_without_names_and_empty_texts_are_refused(tmp_path: Path) -> None:
    spec = file_spec(tmp_path, ".csv")
    write_table(Path(spec["files"]["train"]), [("Fine.", "1")])  # pandas reads the column as integers
    with pytest.raises(DataError, match=r"toys/train .* row 0: label 1 is an integer id .*label_names"):
        convert(spec, tmp_path)
    assert read_classification_split(convert({**spec, "label_names": LABELS.names}, tmp_path))[1] == [
        "positive"
    ]
    write_table(Path(spec["files"]["train"]), [("Fine.", "positive"), ("  ", "negative")])
    with pytest.raises(DataError, match=r"row 1: column 'text' is empty or whitespace only"):
        convert(spec, tmp_path)


def test_bad_source_specs_fail_naming_the_fix(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="exactly one of files / disk / hub"):
        DatasetsSource.from_config("toys", {"disk": "a", "hub": "b"})
    with pytest.raises(DataError, match=r"unknown keys \['text'\]"):
        DatasetsSource.from_config("toys", {"hub": "b", "text": "review"})
    with pytest.raises(DataError, match=r"\.xlsx is not one of"):
        DatasetsSource.from_config("toys", {"files": {"train": "a.xlsx"}})
    folder = save_reviews_to_disk(tmp_path / "saved", {"validation": "dev"})
    missing = (
        r"no split 'validation'; the dataset has \['train', 'dev', 'test'\]\. Map .*splits\.validation=<name>"
    )
    with pytest.raises(DataError, match=missing):
        convert({"disk": str(folder)}, tmp_path, "validation")


def test_a_hub_dataset_that_cannot_be_reached_names_the_offline_way(tmp_path: Path) -> None:
    """The online path is real code; offline (as in the tests: HF_HUB_OFFLINE=1) it fails naming `disk`."""
    spec = {"hub": "stanfordnlp/imdb", "splits": {"validation": "train[90%:]"}}
    offline = r"toys/validation \(hub dataset 'stanfordnlp/imdb', split 'train\[90%:\]'\): could not load it"
    with pytest.raises(DataError, match=offline + r".*save_to_disk.*task\.sources\.toys\.disk=<folder>"):
        convert(spec, tmp_path, "validation")


def test_ner_tags_from_a_classlabel_sequence_become_bio_strings(tmp_path: Path) -> None:
    import datasets

    names = ["O", "B-person", "I-person", "B-location"]
    features = {
        "tokens": datasets.Sequence(datasets.Value("string")),
        "tags": datasets.Sequence(datasets.ClassLabel(names=names)),
    }
    rows = [
        {"tokens": ["Ada", "Lovelace", "in", "London"], "tags": [1, 2, 0, 3]},
        {"tokens": ["Hi"], "tags": [0]},
    ]
    dataset_dict(tmp_path / "build", {"train": rows}, features).save_to_disk(str(tmp_path / "ner"))
    labels = bio_label_space(["person", "location"])
    path = convert({"disk": str(tmp_path / "ner")}, tmp_path, labels=labels, level="token")
    assert read_token_split(path)[1] == [["B-person", "I-person", "O", "B-location"], ["O"]]

    rows[1]["tags"] = [2]  # an I- that continues nothing
    dataset_dict(tmp_path / "build2", {"train": rows}, features).save_to_disk(str(tmp_path / "bad"))
    with pytest.raises(DataError, match=r"toys/train .* row 1: tag 0 'I-person' follows the sentence start"):
        convert({"disk": str(tmp_path / "bad")}, tmp_path, labels=labels, level="token")


def small_sentiment_copy(data_dir: Path, root: Path, lines: int = 64) -> Path:
    """The first `lines` examples of every split of books and kitchen, in the JSONL layout under `root`."""
    for domain in ("books", "kitchen"):
        (root / domain).mkdir(parents=True)
        for split in SPLITS:
            with (data_dir / "sentiment" / domain / f"{split}.jsonl").open(encoding="utf-8") as handle:
                head = [next(handle) for _ in range(lines)]
            (root / domain / f"{split}.jsonl").write_text("".join(head), encoding="utf-8")
    return root


@pytest.mark.slow  # two smoke trainings (tiny backbone): about 20 s
def test_csv_files_and_a_save_to_disk_folder_train_to_the_metrics_of_the_same_jsonl(
    run_training, data_dir: Path, tmp_path: Path
) -> None:
    """Acceptance: books from CSV files (source), kitchen from a save_to_disk folder with ClassLabel ids
    (target: test and unlabeled train), against the same examples in the JSONL layout, under DANN."""
    import datasets

    jsonl = small_sentiment_copy(data_dir, tmp_path / "jsonl")
    csv_files = {}
    for split in SPLITS:
        texts, labels = read_classification_split(jsonl / "books" / f"{split}.jsonl")
        csv_files[split] = str(
            write_table(tmp_path / f"books_{split}.csv", list(zip(texts, labels, strict=True)))
        )
    kitchen = {split: read_classification_split(jsonl / "kitchen" / f"{split}.jsonl") for split in SPLITS}
    rows = {
        split: [
            {"text": t, "label": LABELS.names.index(label)} for t, label in zip(*kitchen[split], strict=True)
        ]
        for split in SPLITS
    }
    features = {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=LABELS.names)}
    dataset_dict(tmp_path / "build", rows, features).save_to_disk(str(tmp_path / "kitchen_saved"))

    common = ("strategy=dann", "domain.source=books", "domain.target=kitchen")
    from_jsonl = run_training(*common, f"task.data_dir={jsonl}", output_dir=tmp_path / "run_jsonl")
    files = ",".join(f"{split}:'{path}'" for split, path in csv_files.items())
    sources = f"task.sources={{books:{{files:{{{files}}}}},kitchen:{{disk:'{tmp_path / 'kitchen_saved'}'}}}}"
    from_datasets = run_training(
        *common, f"task.data_dir={tmp_path / 'no-jsonl'}", sources, output_dir=tmp_path / "run_datasets"
    )
    assert from_jsonl["status"] == from_datasets["status"] == "ok"
    assert {"target/test/acc", "source/test/acc", "source/val/acc"} <= set(from_datasets["metrics"])
    assert from_datasets["metrics"] == pytest.approx(from_jsonl["metrics"], abs=1e-9)
    picks = [
        {k: v for k, v in run["selection"].items() if k != "checkpoint"}
        for run in (from_jsonl, from_datasets)
    ]
    assert picks[0] == picks[1], "the label-free validators read the same target text"


def test_few_shot_target_training_reads_a_datasets_domains_own_labels(tmp_path: Path) -> None:
    """target_finetune with `label_space: target` finds the target's own labels in its source, unchecked."""
    from omegaconf import OmegaConf

    from nlp_transfer.target_finetune import target_label_overrides

    spec = file_spec(tmp_path, ".csv")
    write_table(Path(spec["files"]["test"]), [("So-so.", "neutral")])
    task = OmegaConf.create(
        {"data_dir": str(tmp_path / "no-jsonl"), "labels": LABELS.names, "cache_dir": str(tmp_path / "cache"),
         "sources": {"toys": spec}}
    )  # fmt: skip
    own = target_label_overrides(task, "toys")
    assert own == {"labels": ["negative", "neutral", "positive"], "label_map": None}
