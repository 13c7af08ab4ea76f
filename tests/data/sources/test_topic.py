"""AG News ``test.csv`` and BBC article folders → topic JSONL with the shared 4 labels."""

from __future__ import annotations

import random

from nlp_transfer.data.sources import agnews, bbc
from nlp_transfer.data.sources.splitting import largest_remainder_counts
from nlp_transfer.data.sources.topic_splits import SHARED_LABELS, SPLIT_SEED, dedup_key

from .conftest import RawFolder, read_domain, snapshot

# Rows in the original layout (class, title, description; "" escapes a quote), with the upstream
# artefacts: "&" lost before entities, "\" as line break, escaped HTML tags, cp1252 code points.
AG_ROWS = "".join(
    line + "\n"
    for line in [
        r'"3","Fears for T N pension after talks","Unions representing workers at Turner   Newall '
        r'''say they are 'disappointed' after talks."''',
        r'"4","The Race is On: Private Team (SPACE.com)","SPACE.com - A second\team competing for '
        r'the  #36;10 million Ansari X Prize"',
        r'"3","Wells Fargo Profit Rises","Wells Fargo   Co. &lt;A HREF=""http://www.investor.reuters'
        r'.com/FullQuote.aspx?ticker=WFC.N""&gt;WFC.N&lt;/A&gt;, the No. 4  U.S. bank"',
        r'"2","NBA ROUNDUP: O #39;Neal shines",'
        r'"Shaquille O #39;Neal swatted away Boris Diaw #39;s lay-up"',
        r'"1","Iran given nuclear deadline:",'
        r'"the board of governors, quot; he said.  quot;A proposal. quot;"',
        r'"2","Red Sox win?","Fans cheered #151; loudly #146;til dawn &lt;b&gt;live&lt;/b&gt;"',
        r'"1","S amp;P at boot camp; news","Standard  amp; Poor said &eacute;lan"',
        r'''"2","nba roundup: o'neal SHINES!","shaquille o'neal swatted away boris diaw's lay-up"''',
        r'"4","Loosing the War","\\""Sven Jaschan is\responsible.""\\"',
    ]
)

AG_EXPECTED = [
    (
        "Fears for T N pension after talks. Unions representing workers at Turner Newall say they are "
        "'disappointed' after talks.",
        "business",
    ),
    (
        "The Race is On: Private Team (SPACE.com). SPACE.com - A second team competing for the $10 million "
        "Ansari X Prize",
        "sci_tech",
    ),
    ("Wells Fargo Profit Rises. Wells Fargo Co. WFC.N , the No. 4 U.S. bank", "business"),
    ("NBA ROUNDUP: O 'Neal shines. Shaquille O 'Neal swatted away Boris Diaw 's lay-up", "sports"),
    ('Iran given nuclear deadline: the board of governors, " he said. "A proposal. "', "world_politics"),
    ("Red Sox win? Fans cheered — loudly ’til dawn live", "sports"),
    ("S &P at boot camp; news. Standard & Poor said élan", "world_politics"),
    ("nba roundup: o'neal SHINES! shaquille o'neal swatted away boris diaw's lay-up", "sports"),
    ('Loosing the War. "Sven Jaschan is responsible."', "sci_tech"),
]


def test_ag_rows_are_cleaned_of_escape_artefacts() -> None:
    assert agnews.parse_csv(AG_ROWS) == AG_EXPECTED
    for text, _ in AG_EXPECTED:
        assert "\\" not in text and "#39;" not in text and "quot;" not in text and "<" not in text


def split_counts(records: list[dict]) -> dict[str, int]:
    return {label: sum(r["label"] == label for r in records) for label in SHARED_LABELS}


def test_agnews_domain_dedups_on_alphanumerics_and_splits_by_largest_remainder(raw: RawFolder) -> None:
    extra = "".join(f'"{c}","Story {c}-{i}","Body {i}."\n' for c in "1234" for i in range(8))
    raw.put(agnews.raw_file(), AG_ROWS + extra)
    agnews.prepare(raw.fetcher, raw.out)
    splits = read_domain(raw.out, "topic", "agnews")

    kept = [t for t, _ in AG_EXPECTED if not t.startswith("nba roundup")]  # same key as the NBA row above
    assert dedup_key(AG_EXPECTED[3][0]) == dedup_key(AG_EXPECTED[7][0])
    texts = [r["text"] for rs in splits.values() for r in rs]
    assert len(texts) == len(set(texts)) == len(kept) + 32
    assert set(kept) <= set(texts)
    per_label = dict.fromkeys(SHARED_LABELS, 10)
    for i, name in enumerate(("train", "validation", "test")):
        assert split_counts(splits[name]) == {k: largest_remainder_counts(n)[i] for k, n in per_label.items()}
    assert largest_remainder_counts(10) == (7, 1, 2)

    # The documented recipe, restated: Random(20251125); labels in order, shuffle, cut; shuffle splits.
    rows, seen = [], set()
    for text, label in agnews.parse_csv(AG_ROWS + extra):
        if dedup_key(text) not in seen:
            seen.add(dedup_key(text))
            rows.append((text, label))
    rng = random.Random(SPLIT_SEED)
    expected = {"train": [], "validation": [], "test": []}
    for label in SHARED_LABELS:
        pool = [r for r in rows if r[1] == label]
        rng.shuffle(pool)
        expected["train"] += pool[:7]
        expected["validation"] += pool[7:8]
        expected["test"] += pool[8:]
    for name in expected:
        rng.shuffle(expected[name])
        assert [(r["text"], r["label"]) for r in splits[name]] == expected[name]


def test_largest_remainder_reproduces_the_readme_tables() -> None:
    # topic/README.md counts per label (train, validation, test); totals are their sums
    for counts in [(1329, 190, 380), (1330, 190, 380), (351, 50, 100), (241, 35, 69), (282, 40, 81)]:
        assert largest_remainder_counts(sum(counts)) == counts
    # 345 * 0.7 = 241.49999... in floats, so the 0.5 of validation wins the leftover, as published
    assert largest_remainder_counts(345) == (241, 35, 69)


def write_bbc(raw: RawFolder) -> dict[str, int]:
    def put(path: str, content: str | bytes) -> None:
        raw.put(bbc.RawFile(bbc.REPO, bbc.COMMIT, f"bbc/{path}"), content)

    put(
        "business/001.txt",
        "Ad sales boost Time Warner profit\n\nQuarterly profits jumped 76%.\n\nThe firm said so.\n",
    )
    put("business/002.txt", "Dollar gains\n\nThe dollar hit \xa3 lows.\n".encode("cp1252"))  # not UTF-8
    put(
        "business/003.txt",
        "AD SALES boost Time-Warner profit\nQuarterly profits jumped 76%  The firm said so\n",
    )
    put("politics/001.txt", "Blair to face Howard?\n\nThe PM  will\tanswer.\n")
    put("sport/001.txt", "Owen wins\n\nHe scored.\n")
    put("tech/001.txt", "New chip:\n\nFaster phones.\n")
    put("entertainment/001.txt", "Film star\n\nNot a shared label.\n")
    return {"business": 3, "politics": 1, "sport": 1, "tech": 1}


def test_bbc_articles_become_title_plus_paragraphs_with_labels_from_folders(raw: RawFolder) -> None:
    counts = write_bbc(raw)
    bbc.prepare(raw.fetcher, raw.out, counts=counts)
    splits = read_domain(raw.out, "topic", "bbc")
    records = sorted((r["text"], r["label"]) for rs in splits.values() for r in rs)
    assert records == [
        ("Ad sales boost Time Warner profit. Quarterly profits jumped 76%. The firm said so.", "business"),
        ("Blair to face Howard? The PM will answer.", "world_politics"),
        ("Dollar gains. The dollar hit £ lows.", "business"),
        ("New chip: Faster phones.", "sci_tech"),
        ("Owen wins. He scored.", "sports"),
    ]
    # 2 business: 1.4/0.2/0.4 → floors 1/0/0 and the leftover to test; 1 article: 0.7 → train
    assert split_counts(splits["train"]) == {"business": 1, "sci_tech": 1, "sports": 1, "world_politics": 1}
    assert split_counts(splits["test"]) == {"business": 1, "sci_tech": 0, "sports": 0, "world_politics": 0}
    assert splits["validation"] == []


def test_bbc_is_deterministic_and_fetches_the_1839_kept_articles(raw: RawFolder, tmp_path) -> None:
    counts = write_bbc(raw)
    bbc.prepare(raw.fetcher, raw.out, counts=counts)
    bbc.prepare(raw.fetcher, tmp_path / "again", counts=counts)
    assert snapshot(tmp_path / "again") == snapshot(raw.out) != {}

    files = bbc.raw_files()
    assert len(files) == 1839  # README: 2,225 articles minus 386 entertainment
    assert files[0].path == "bbc/business/001.txt" and files[-1].path == "bbc/tech/401.txt"
    assert [f.path for f in files] == sorted(f.path for f in files)
