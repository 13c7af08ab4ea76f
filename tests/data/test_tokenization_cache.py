from pathlib import Path

import numpy as np

from nlp_transfer.data.tokenization import TokenizedTexts, cached_tokenize


def test_cache_is_reused_and_invalidated_by_a_changed_file(tmp_path: Path, minilm_tokenizer) -> None:
    data = tmp_path / "dom" / "train.jsonl"
    data.parent.mkdir()
    data.write_text('{"text": "a", "label": "x"}\n')
    cache = tmp_path / "cache"
    texts = ["hello world", "a longer sentence here"]

    first = cached_tokenize(data, texts, minilm_tokenizer, 16, cache)
    files = list((cache / "tokens").glob("*.npz"))
    assert len(files) == 1
    # a cache hit must return what is stored, even if the given texts differ (proves no re-tokenization)
    again = cached_tokenize(data, ["completely different"], minilm_tokenizer, 16, cache)
    assert np.array_equal(again.ids, first.ids)

    data.write_text('{"text": "b", "label": "x"}\n')  # new checksum → new key
    changed = cached_tokenize(data, ["completely different"], minilm_tokenizer, 16, cache)
    assert len(list((cache / "tokens").glob("*.npz"))) == 2
    assert not np.array_equal(changed.ids, first.ids)

    shorter = cached_tokenize(data, texts, minilm_tokenizer, 4, cache)  # max_length is part of the key
    assert shorter.lengths().max() == 4


def test_tokenized_texts_round_trip_and_head() -> None:
    tokens = TokenizedTexts.from_lists([[1, 2, 3], [4], [5, 6]])
    assert [list(tokens[i]) for i in range(3)] == [[1, 2, 3], [4], [5, 6]]
    head = tokens.head(2)
    assert len(head) == 2 and list(head[1]) == [4]
    assert list(tokens.lengths()) == [3, 1, 2]


def test_truncation_modes_keep_head_tail_or_both(minilm_tokenizer) -> None:
    from nlp_transfer.data.tokenization import tokenize

    words = [f"w{i}" for i in range(40)]
    text = " ".join(words)
    plain = minilm_tokenizer(text, add_special_tokens=False)["input_ids"]
    cls, sep = minilm_tokenizer.cls_token_id, minilm_tokenizer.sep_token_id
    budget = 12 - 2

    head = list(tokenize([text], minilm_tokenizer, 12, "head")[0])
    tail = list(tokenize([text], minilm_tokenizer, 12, "tail")[0])
    both = list(tokenize([text], minilm_tokenizer, 12, "head_tail", head_fraction=0.3)[0])
    assert head == [cls, *plain[:budget], sep]
    assert tail == [cls, *plain[-budget:], sep]
    assert both == [cls, *plain[:3], *plain[-7:], sep]
    short = list(tokenize(["w1 w2"], minilm_tokenizer, 12, "head_tail")[0])
    assert short == minilm_tokenizer("w1 w2")["input_ids"]  # short texts are never cut
