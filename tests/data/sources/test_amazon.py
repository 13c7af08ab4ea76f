"""Amazon/Blitzer ``*.review`` pseudo-XML → sentiment JSONL."""

from __future__ import annotations

import random

from nlp_transfer.data.sources import amazon
from nlp_transfer.data.sources.splitting import rounded_counts

from .conftest import RawFolder, read_domain, snapshot


def review(title: str, text: str, rating: str = "5.0") -> str:
    """One block in the original layout: every field on its own lines, fields we drop included."""
    return (
        "<review>\n<unique_id>\n0000:x:y\n</unique_id>\n<asin>\n0000\n</asin>\n"
        "<product_name>\nA & B: Books\n</product_name>\n<helpful>\n\n</helpful>\n"
        f"<rating>\n{rating}\n</rating>\n<title>\n{title}\n</title>\n<date>\nJuly 1, 2006\n</date>\n"
        f"<reviewer>\nJoe\n</reviewer>\n<review_text>\n{text}\n</review_text>\n</review>\n"
    )


SPECIAL_POSITIVE = [
    review("Great!", "It works.<br />Really &quot;well&quot;.<br /><br />Buy it"),
    review("Double &amp;quot;escaped&amp;quot;", "Tom &amp; Jerry\n\nsecond   paragraph \n"),
    review("\ufeffZero\u200bwidth", "kept \ufffd as is"),
    review("Great!", 'It works. Really "well". Buy it'),  # same text after cleaning: a duplicate
]
PLAIN_POSITIVE = [review(f"Pos {i}", f"positive body {i}") for i in range(7)]
NEGATIVE = [review(f"Neg {i}", f"negative body {i}", "1.0") for i in range(7)]
NEGATIVE.append(review("Neg 0", "negative body 0", "2.0"))  # duplicate text with other metadata


def write_books(raw: RawFolder) -> None:
    files = amazon.raw_files("books")
    raw.put(files["positive"], "<reviews>\n" + "".join(SPECIAL_POSITIVE + PLAIN_POSITIVE) + "</reviews>\n")
    raw.put(files["negative"], "<reviews>\n" + "".join(NEGATIVE) + "</reviews>\n")


def test_review_text_is_title_dot_body_with_entities_breaks_and_zero_widths_cleaned() -> None:
    texts = amazon.parse_reviews("".join(SPECIAL_POSITIVE))
    assert texts == [
        'Great!. It works. Really "well". Buy it',
        'Double "escaped". Tom & Jerry second paragraph',
        "Zerowidth. kept \ufffd as is",
        'Great!. It works. Really "well". Buy it',
    ]


def test_books_domain_is_deduplicated_and_split_70_10_20_per_label(raw: RawFolder) -> None:
    write_books(raw)
    amazon.prepare(raw.fetcher, raw.out, domains=("books",))
    splits = read_domain(raw.out, "sentiment", "books")

    for records in splits.values():
        assert all(set(r) == {"text", "label"} for r in records)
    counts = {
        name: (sum(r["label"] == "positive" for r in rs), sum(r["label"] == "negative" for r in rs))
        for name, rs in splits.items()
    }
    # 10 positive (11 minus 1 duplicate): 7/1/2; 7 negative (8 minus 1): round(4.9)/round(0.7)/rest = 5/1/1
    assert counts == {"train": (7, 5), "validation": (1, 1), "test": (2, 1)}
    texts = [r["text"] for rs in splits.values() for r in rs]
    assert len(texts) == len(set(texts)) == 17
    assert 'Great!. It works. Really "well". Buy it' in texts
    assert "Neg 0. negative body 0" in texts


def test_split_order_follows_the_documented_seeded_recipe(raw: RawFolder) -> None:
    write_books(raw)
    amazon.prepare(raw.fetcher, raw.out, domains=("books",))
    splits = read_domain(raw.out, "sentiment", "books")

    # Independent re-statement of sentiment/README.md: one Random("20070625-books"); positive then
    # negative shuffled and cut 7/1/2 and 5/1/1; then train, validation, test each shuffled.
    pos = amazon.parse_reviews("".join(SPECIAL_POSITIVE + PLAIN_POSITIVE))
    pos = list(dict.fromkeys(pos))
    neg = list(dict.fromkeys(amazon.parse_reviews("".join(NEGATIVE))))
    rng = random.Random("20070625-books")
    expected = {"train": [], "validation": [], "test": []}
    for label, items, (a, b) in (("positive", pos, (7, 8)), ("negative", neg, (5, 6))):
        rng.shuffle(items)
        expected["train"] += [(t, label) for t in items[:a]]
        expected["validation"] += [(t, label) for t in items[a:b]]
        expected["test"] += [(t, label) for t in items[b:]]
    for name in ("train", "validation", "test"):
        rng.shuffle(expected[name])
        assert [(r["text"], r["label"]) for r in splits[name]] == expected[name]


def test_two_runs_write_byte_identical_files(raw: RawFolder, tmp_path) -> None:
    write_books(raw)
    amazon.prepare(raw.fetcher, raw.out, domains=("books",))
    first = snapshot(raw.out)
    amazon.prepare(raw.fetcher, tmp_path / "again", domains=("books",))
    assert snapshot(tmp_path / "again") == first
    assert len(first) == 3


def test_rounding_reproduces_every_count_in_the_readme_table() -> None:
    # sentiment/README.md: kept (positive, negative) per domain → train / validation / test per label
    table = {
        "books": ((993, (695, 99, 199)), (963, (674, 96, 193))),
        "dvd": ((995, (696, 100, 199)), (959, (671, 96, 192))),
        "electronics": ((987, (691, 99, 197)), (979, (685, 98, 196))),
        "kitchen": ((996, (697, 100, 199)), (982, (687, 98, 197))),
    }
    for rows in table.values():
        for total, expected in rows:
            assert rounded_counts(total) == expected
    assert rounded_counts(1000) == (700, 100, 200)
