"""Property-based fuzzing of the JSONL readers: whatever one line holds, the reader either returns
well-formed examples or raises `DataError` naming the file and that line, never another exception.

Each example writes a split file whose line 2 is fuzzed between two valid lines: random bytes
(invalid UTF-8, control characters), random JSON values, records with random field types, and NER
records with random tag sequences (orphan I-, non-BIO tags, non-strings). Derandomized with a fixed
example budget, so CI runs the same few hundred cases in a few seconds and never flakes.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nlp_transfer.data.errors import DataError
from nlp_transfer.data.jsonl import check_iob2, read_classification_split, read_token_split

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

VALID = {
    read_classification_split: json.dumps({"text": "a fine text", "label": "positive"}),
    read_token_split: json.dumps({"tokens": ["EU", "rejects"], "tags": ["B-ORG", "O"]}),
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
tag_like = st.sampled_from(["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "PER", "B-", "I-", "", "o"])
words = st.text(min_size=0, max_size=6)
texts = st.text(max_size=12) | st.sampled_from(["", " ", "\t", "\x1c", "a \ud800 b", "ok"])


def ner_records() -> st.SearchStrategy[dict]:
    """Sentences whose tokens and tags vary in type, content, length and BIO order."""
    tokens = st.lists(words | json_values, max_size=5)
    tags = st.lists(tag_like | json_values, max_size=5) | json_values
    return st.fixed_dictionaries({"tokens": tokens, "tags": tags}) | st.builds(
        lambda ws, ts: {"tokens": ws, "tags": ts[: len(ws)]},
        st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=5),
        st.lists(tag_like, min_size=5, max_size=5),
    )


def text_records() -> st.SearchStrategy[dict]:
    field = texts | json_values
    return st.fixed_dictionaries({"text": field, "label": field}) | st.fixed_dictionaries(
        {}, optional={"text": field, "label": field, "other": json_values}
    )


def encoded(value: object) -> bytes:
    """A record as one JSON line; `surrogatepass` keeps a lone surrogate as the (invalid) bytes it is."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


fuzzed_lines = st.one_of(
    st.binary(max_size=40),
    json_values.map(encoded),
    text_records().map(encoded),
    ner_records().map(encoded),
    text_records().map(lambda r: json.dumps(r).encode()),  # ASCII with \u escapes, surrogates included
    ner_records().map(lambda r: json.dumps(r).encode()),
)


@pytest.mark.parametrize("with_labels", [True, False])
@pytest.mark.parametrize("reader", list(VALID), ids=["classification", "token"])
@FUZZ
@given(line=fuzzed_lines)
def test_a_fuzzed_line_is_read_or_refused_naming_file_and_line(
    tmp_path_factory, reader, with_labels: bool, line: bytes
) -> None:
    path = tmp_path_factory.getbasetemp() / f"fuzz-{reader.__name__}.jsonl"
    line = line.replace(b"\n", b" ")  # one fuzzed line: a newline would make it two
    path.write_bytes(VALID[reader].encode() + b"\n" + line + b"\n" + VALID[reader].encode() + b"\n")
    try:
        items, labels = reader(path, with_labels=with_labels)
    except DataError as err:
        assert str(err).startswith(f"{path}:2: "), str(err)
        return
    assert len(items) in (2, 3)  # a blank fuzzed line is skipped
    assert (labels is None) != with_labels
    check_well_formed(items, labels)


def check_well_formed(items: list, labels: list | None) -> None:
    """What a reader returns holds only what the tokenizer and the label space accept."""
    for item in items:
        for text in item if isinstance(item, list) else [item]:
            assert isinstance(text, str) and text.strip()
            text.encode("utf-8")  # no lone surrogates
    for index, label in enumerate(labels or []):
        if isinstance(label, list):
            assert len(label) == len(items[index])
            check_iob2(label, "returned")
        else:
            assert isinstance(label, str)
