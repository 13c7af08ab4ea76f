"""Bad records in a split file fail as `DataError` naming the file and the line, with the fix."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from nlp_transfer.data.errors import DataError
from nlp_transfer.data.jsonl import read_classification_split, read_token_split

GOOD_TEXT = json.dumps({"text": "fine", "label": "positive"})
GOOD_SENTENCE = json.dumps({"tokens": ["EU", "rejects", "it"], "tags": ["B-ORG", "O", "O"]})


def write_lines(path: Path, *lines: bytes | str) -> Path:
    """A split file of the given lines (str as UTF-8, bytes as they are), one per line."""
    path.write_bytes(b"".join((ln.encode() if isinstance(ln, str) else ln) + b"\n" for ln in lines))
    return path


def fails_at(path: Path, line: int, reader, pattern: str, with_labels: bool = True) -> str:
    """Assert the reader refuses `path` with a DataError naming `path:line` and matching `pattern`."""
    with pytest.raises(DataError) as info:
        reader(path, with_labels=with_labels)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert re.search(pattern, message), message
    return message


def test_non_utf8_bytes_name_file_line_and_the_fix(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "train.jsonl", GOOD_TEXT, b'{"text": "caf\xe9", "label": "positive"}')
    message = fails_at(path, 2, read_classification_split, r"not valid UTF-8 \(byte 0xe9")
    assert "iconv" in message


def test_a_utf8_byte_order_mark_on_the_first_line_is_accepted(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "train.jsonl", b"\xef\xbb\xbf" + GOOD_TEXT.encode(), GOOD_TEXT)
    texts, labels = read_classification_split(path)
    assert texts == ["fine", "fine"] and labels == ["positive", "positive"]


@pytest.mark.parametrize("text", [12345, None, ["a"], {"a": 1}, True])
def test_a_non_string_text_names_file_line_and_type(tmp_path: Path, text) -> None:
    path = write_lines(tmp_path / "train.jsonl", GOOD_TEXT, json.dumps({"text": text, "label": "positive"}))
    fails_at(path, 2, read_classification_split, rf"'text' must be a string, got {type(text).__name__}")
    # also when the labels are not read (a target's train file as unlabeled adaptation data)
    fails_at(path, 2, read_classification_split, "'text' must be a string", with_labels=False)


@pytest.mark.parametrize("text", ["", "   ", "\t\n "])
def test_an_empty_or_whitespace_text_is_refused(tmp_path: Path, text: str) -> None:
    path = write_lines(tmp_path / "train.jsonl", json.dumps({"text": text, "label": "positive"}))
    fails_at(path, 1, read_classification_split, "'text' is empty or whitespace only")


def test_non_string_label_missing_key_non_object_and_bad_json(tmp_path: Path) -> None:
    cases = {
        json.dumps({"text": "a", "label": 1}): "'label' must be a string, got int",
        json.dumps({"label": "positive"}): "no 'text' key",
        json.dumps(["text", "label"]): "expected a JSON object, got list",
        '{"text": "a", "label": ': "not valid JSON",
        "1" * 5000: "not valid JSON",  # over Python's integer digit limit: ValueError, not JSONDecodeError
        "[" * 100_000: "not valid JSON",  # nesting deeper than the recursion limit
        json.dumps({"text": "a \ud800 b", "label": "positive"}): "lone surrogate",
    }
    for index, (line, pattern) in enumerate(cases.items()):
        path = write_lines(tmp_path / f"train{index}.jsonl", GOOD_TEXT, GOOD_TEXT, line)
        fails_at(path, 3, read_classification_split, pattern)


@pytest.mark.parametrize(
    ("record", "pattern"),
    [
        ({"tokens": ["a", 5], "tags": ["O", "O"]}, "token 1 must be a string, got int"),
        ({"tokens": ["a", ""], "tags": ["O", "O"]}, "token 1 is empty or whitespace only"),
        ({"tokens": "a b", "tags": ["O", "O"]}, "'tokens' must be a list of strings, got str"),
        ({"tokens": [], "tags": []}, "a sentence with no tokens"),
        ({"tokens": ["a", "b"], "tags": ["O", None]}, "tag 1 must be a string, got NoneType"),
        ({"tokens": ["a", "b"], "tags": "O O"}, "'tags' must be a list of strings, got str"),
        ({"tokens": ["a", "b"], "tags": ["O"]}, "2 tokens but 1 tags"),
        ({"tokens": ["a", "b"], "tags": ["O", "PER"]}, "tag 1 'PER' is not a BIO tag"),
        ({"tokens": ["a", "b"], "tags": ["O", "B-"]}, "tag 1 'B-' is not a BIO tag"),
        ({"tokens": ["a"]}, "no 'tags' key"),
    ],
)
def test_malformed_ner_records_name_file_and_line(tmp_path: Path, record: dict, pattern: str) -> None:
    path = write_lines(tmp_path / "train.jsonl", GOOD_SENTENCE, json.dumps(record))
    fails_at(path, 2, read_token_split, pattern)


@pytest.mark.parametrize(
    ("tags", "after"),
    [
        (["O", "I-PER", "O"], "follows 'O'"),
        (["I-PER", "O", "O"], "follows the sentence start"),
        (["B-ORG", "I-PER", "O"], "follows 'B-ORG'"),
        (["B-ORG", "I-ORG", "I-PER"], "follows 'I-ORG'"),
    ],
)
def test_an_orphan_inside_tag_is_refused_naming_the_fix(tmp_path: Path, tags: list[str], after: str) -> None:
    """Refused, not repaired to B-: a repair would silently relabel the file (the shared data has none)."""
    record = {"tokens": ["w1", "w2", "w3"], "tags": tags}
    path = write_lines(tmp_path / "train.jsonl", GOOD_SENTENCE, json.dumps(record))
    message = fails_at(path, 2, read_token_split, after)
    assert "IOB2" in message and "IOB1" in message


def test_valid_iob2_continuations_and_unlabeled_reads_pass(tmp_path: Path) -> None:
    tags = ["B-PER", "I-PER", "O", "B-ORG", "B-ORG", "I-ORG", "I-ORG"]
    path = write_lines(tmp_path / "train.jsonl", json.dumps({"tokens": list("abcdefg"), "tags": tags}))
    assert read_token_split(path) == ([list("abcdefg")], [tags])
    orphan = write_lines(tmp_path / "target.jsonl", json.dumps({"tokens": ["a"], "tags": ["I-X"]}))
    assert read_token_split(orphan, with_labels=False) == ([["a"]], None)  # tags are never read then
