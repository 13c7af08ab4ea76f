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
