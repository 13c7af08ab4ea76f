"""`nlp-transfer predict`: JSONL out in input order, from a run or an exported folder, stdin too."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from nlp_transfer.cli import main as cli
from nlp_transfer.data.errors import DataError
from nlp_transfer.export.predict_inputs import read_inputs
from nlp_transfer.export.predictor import entity_spans
from tests.export.fresh_transformers import predict_alone


def _kitchen_texts(data_dir: Path) -> list[str]:
    from nlp_transfer.data.jsonl import read_classification_split

    return read_classification_split(data_dir / "sentiment" / "kitchen" / "test.jsonl")[0]


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_thousand_line_jsonl_comes_back_in_input_order(
    sentiment_export: Path, data_dir: Path, tmp_path: Path
) -> None:
    texts = _kitchen_texts(data_dir)
    # lengths from 1 to 90 words, shuffled against the line order, so length-sorting reorders batches
    inputs = [" ".join(texts[i % len(texts)].split()[: 1 + (i * 37) % 90]) for i in range(1000)]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"id": f"x{i}", "text": t}) + "\n" for i, t in enumerate(inputs)))
    out = tmp_path / "out.jsonl"
    assert (
        cli(["predict", f"model={sentiment_export}", f"input={source}", f"out={out}", "batch_size=16"]) == 0
    )
    rows = _rows(out)
    assert [row["line"] for row in rows] == list(range(1, 1001))
    assert [row["id"] for row in rows] == [f"x{i}" for i in range(1000)]
    assert all(abs(sum(row["probabilities"].values()) - 1) < 1e-4 for row in rows)
    picked = list(range(0, 1000, 25))  # each alone: unbatched, unpadded
    alone = predict_alone(str(sentiment_export), "sequence", [inputs[i] for i in picked])
    for index, (label, probs) in zip(picked, alone, strict=True):
        assert rows[index]["label"] == label
        assert list(rows[index]["probabilities"].values()) == pytest.approx(probs, abs=1e-5)


def test_stdin_text_from_a_run_dir_matches_its_export(
    sentiment_run: Path, sentiment_export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    lines = "A fine pan, works great.\n\nThe handle broke after a week!\nOK\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(lines.encode())))
    assert cli(["predict", f"run_dir={sentiment_run}", "input=-"]) == 0
    from_run = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["line"] for row in from_run] == [1, 3, 4]  # the blank line is skipped, numbers kept
    text = tmp_path / "in.txt"
    text.write_text(lines)
    out = tmp_path / "out.jsonl"
    assert cli(["predict", f"model={sentiment_export}", f"input={text}", f"out={out}"]) == 0
    for run_row, export_row in zip(from_run, _rows(out), strict=True):
        assert run_row["label"] == export_row["label"]
        assert run_row["probabilities"] == pytest.approx(export_row["probabilities"], abs=1e-5)


def test_a_malformed_line_is_named_by_file_and_line(
    sentiment_export: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text('{"text": "good"}\n\n{"text": "fine", \n{"label": "positive"}\n')
    assert cli(["predict", f"model={sentiment_export}", f"input={source}"]) == 2
    assert f"{source}:3: not valid JSON" in capsys.readouterr().err
    source.write_text('{"text": "good"}\n{"label": "positive"}\n')
    with pytest.raises(DataError, match=rf"{source}:2: no 'text' key"):
        read_inputs(str(source), "sequence")
    source.write_text('{"tokens": ["Paris", 3]}\n')
    with pytest.raises(DataError, match=rf"{source}:1: token 1 must be a string"):
        read_inputs(str(source), "token")
    assert cli(["predict", f"model={sentiment_export}", "input=x.txt", "run_dir=y"]) == 2
    assert "exactly one of run_dir=" in capsys.readouterr().err


def test_ner_predictions_give_a_tag_per_word_and_entity_spans(ner_export: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    sentences = [["Jane", "Smith", "visited", "Paris"], ["OK"]]
    source.write_text(
        "".join(json.dumps({"tokens": words}) + "\n" for words in sentences) + '{"text": "a b"}\n'
    )
    out = tmp_path / "out.jsonl"
    assert cli(["predict", f"model={ner_export}", f"input={source}", f"out={out}"]) == 0
    rows = _rows(out)
    assert [row["tokens"] for row in rows] == [*sentences, ["a", "b"]]
    assert [row["tags"] for row in rows] == predict_alone(
        str(ner_export), "token", [r["tokens"] for r in rows]
    )
    assert [row["entities"] for row in rows] == [entity_spans(row["tokens"], row["tags"]) for row in rows]


def test_entity_spans_read_iob2_tags_as_seqeval_does() -> None:
    words = ["Jane", "Smith", "met", "Bo", "in", "New", "York", "City", "today"]
    tags = ["B-PER", "I-PER", "O", "I-PER", "O", "B-LOC", "I-LOC", "B-LOC", None]
    assert entity_spans(words, tags) == [
        {"type": "PER", "start": 0, "end": 2, "text": "Jane Smith"},
        {"type": "PER", "start": 3, "end": 4, "text": "Bo"},  # a stray I- opens an entity
        {"type": "LOC", "start": 5, "end": 7, "text": "New York"},
        {"type": "LOC", "start": 7, "end": 8, "text": "City"},  # B- after I- of the same type: a new one
    ]
    assert entity_spans(["a", "b"], ["B-X", "I-Y"]) == [
        {"type": "X", "start": 0, "end": 1, "text": "a"},
        {"type": "Y", "start": 1, "end": 2, "text": "b"},
    ]
