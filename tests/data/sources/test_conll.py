"""CoNLL-2003 / CrossNER ``token<TAB>tag`` files → NER JSONL, unchanged apart from the layout."""

from __future__ import annotations

import pytest

from nlp_transfer.data.sources import conll

from .conftest import RawFolder, read_domain, snapshot

# A CoNLL-style file: -DOCSTART- lines, the double blank lines they leave, no final blank line.
NEWS_TRAIN = (
    "-DOCSTART-\tO\n\n"
    "EU\tB-organisation\nrejects\tO\nGerman\tB-misc\ncall\tO\n.\tO\n\n"
    "Peter\tB-person\nBlackburn\tI-person\n\n\n"
    "-DOCSTART- -X- -X- O\n\n"
    "BRUSSELS\tB-location\n1996-08-22\tO"
)
CROSSNER_DEV = "Jürgen\tB-researcher\nSchmidhuber\tI-researcher\nat\tO\nIDSIA\tB-organisation\r\n\r\n"


def test_docstart_lines_and_blank_runs_yield_no_empty_sentences() -> None:
    assert conll.parse_sentences(NEWS_TRAIN.splitlines(keepends=True)) == [
        {
            "tokens": ["EU", "rejects", "German", "call", "."],
            "tags": ["B-organisation", "O", "B-misc", "O", "O"],
        },
        {"tokens": ["Peter", "Blackburn"], "tags": ["B-person", "I-person"]},
        {"tokens": ["BRUSSELS", "1996-08-22"], "tags": ["B-location", "O"]},
    ]


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("EU B-organisation\n", "expected 'token<TAB>tag'"),
        ("EU\tB-organisation\tx\n", "expected 'token<TAB>tag'"),
        ("EU\tX-organisation\n", "is not O, B-<type> or I-<type>"),
        ("EU\tI-organisation\n", "follows O"),
    ],
)
def test_malformed_lines_and_broken_bio_are_refused(line: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        conll.parse_sentences(["Hello\tO\n", line], source="dev.txt")


def test_domain_files_keep_upstream_splits_with_dev_renamed_validation(raw: RawFolder, tmp_path) -> None:
    news = conll.raw_files("news")
    assert news["validation"].path == "ner_data/conll2003/dev.txt"
    raw.put(news["train"], NEWS_TRAIN)
    raw.put(news["validation"], CROSSNER_DEV)
    raw.put(news["test"], "Peter\tB-person\n")
    conll.prepare(raw.fetcher, raw.out, domains=("news",))

    splits = read_domain(raw.out, "ner", "news")
    assert [len(s) for s in splits.values()] == [3, 1, 1]
    assert splits["validation"] == [
        {
            "tokens": ["Jürgen", "Schmidhuber", "at", "IDSIA"],
            "tags": ["B-researcher", "I-researcher", "O", "B-organisation"],
        }
    ]
    line = (raw.out / "ner" / "news" / "validation.jsonl").read_text(encoding="utf-8")
    assert line == (
        '{"tokens": ["Jürgen", "Schmidhuber", "at", "IDSIA"], '
        '"tags": ["B-researcher", "I-researcher", "O", "B-organisation"]}\n'
    )
    conll.prepare(raw.fetcher, tmp_path / "again", domains=("news",))
    assert snapshot(tmp_path / "again") == snapshot(raw.out)
