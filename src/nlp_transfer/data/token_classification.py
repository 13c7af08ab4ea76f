"""The DataModule for token classification (NER) under domain shift.

Sentences come as words with BIO tags. Tags are aligned to sub-words the usual way (Devlin et al.
2019, §5.3): the first sub-token of a word carries the word's tag, the other sub-tokens and the
special tokens get `IGNORE_INDEX`, so the loss and the entity metric see one label per word.
Every split, labeled or not, also carries `word_starts` (1 at each word's first sub-token, 0 elsewhere):
the tokenizer's word alignment, no label in it, so an unlabeled target batch can say which of its rows
are words (what a pseudo-label is for) without its tags.
Domains may use their own entity types; `label_map` maps them onto the task's `entity_types`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nlp_transfer.data.collate import IGNORE_INDEX, TokenizedDataset
from nlp_transfer.data.errors import DataError
from nlp_transfer.data.jsonl import read_token_split
from nlp_transfer.data.label_space import LabelSpace
from nlp_transfer.data.tokenization import TokenizedTexts, cached_arrays, tokenizer_fingerprint
from nlp_transfer.data.transfer_datamodule import TransferDataModule

log = logging.getLogger(__name__)


def bio_label_space(
    entity_types: Sequence[str], type_map: Mapping[str, Mapping[str, str]] | None = None
) -> LabelSpace:
    """Tags `O, B-t1, I-t1, B-t2, ...` in the order of `entity_types`; type maps lifted to B-/I- tags."""
    names = ["O"] + [f"{prefix}-{kind}" for kind in entity_types for prefix in ("B", "I")]
    tag_map = {
        domain: {f"{p}-{own}": f"{p}-{shared}" for own, shared in table.items() for p in ("B", "I")}
        for domain, table in (type_map or {}).items()
    }
    return LabelSpace(names, tag_map)


def word_start_flags(word_ids: Sequence[int | None]) -> list[int]:
    """1 at the first sub-token of each word, 0 at its other sub-tokens and at special tokens."""
    flags, previous = [], None
    for word in word_ids:
        flags.append(int(word is not None and word != previous))
        previous = word
    return flags


def align_labels(
    word_ids: Sequence[int | None], word_labels: Sequence[int], starts: Sequence[int] | None = None
) -> list[int]:
    """Word labels → sub-token labels: the first sub-token of each word, IGNORE_INDEX elsewhere
    (`starts`: the row's `word_start_flags`, when the caller has them already)."""
    starts = word_start_flags(word_ids) if starts is None else starts
    return [word_labels[w] if start else IGNORE_INDEX for w, start in zip(word_ids, starts, strict=True)]


def tokenize_words(
    sentences: list[list[str]], tags: list[list[int]] | None, tokenizer: Any, max_length: int
) -> dict[str, np.ndarray]:
    """Sub-word ids (flat + offsets), word-start flags and, with tags, aligned labels; also the count of
    cut-off words."""
    if not getattr(tokenizer, "is_fast", False):
        raise DataError(
            f"Token classification needs a fast tokenizer (word ids); got {type(tokenizer).__name__}"
        )
    ids: list[list[int]] = []
    labels: list[list[int]] = []
    starts: list[list[int]] = []
    cut_words = 0
    for start in range(0, len(sentences), 512):
        chunk = sentences[start : start + 512]
        encoded = tokenizer(chunk, is_split_into_words=True, truncation=True, max_length=max_length)
        for row, input_ids in enumerate(encoded["input_ids"]):
            word_ids = encoded.word_ids(row)
            ids.append(input_ids)
            starts.append(word_start_flags(word_ids))
            kept = {w for w in word_ids if w is not None}
            cut_words += len(chunk[row]) - len(kept)
            if tags is not None:
                labels.append(align_labels(word_ids, tags[start + row], starts[-1]))
    tokens = TokenizedTexts.from_lists(ids)
    arrays = {"ids": tokens.ids, "offsets": tokens.offsets, "cut_words": np.array(cut_words)}
    arrays["word_starts"] = TokenizedTexts.from_lists(starts).ids.astype(np.int8)
    if tags is not None:
        arrays["labels"] = TokenizedTexts.from_lists(labels).ids
    return arrays


class TokenClassificationDataModule(TransferDataModule):
    """Source → target NER over one task's domains (sentences of words with BIO tags)."""

    level = "token"

    def __init__(
        self,
        entity_types: list[str],
        label_map: dict[str, dict[str, str]] | None = None,
        selection_metric: str = "source/val/f1",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            label_space=bio_label_space(entity_types, label_map), selection_metric=selection_metric, **kwargs
        )
        self.cut_words: dict[str, int] = {}

    def _read(self, path: Path, with_labels: bool) -> tuple[list[list[str]], list[list[str]] | None]:
        return read_token_split(path, with_labels=with_labels)

    def _load(
        self, path: Path, domain: str, with_labels: bool, limit: int | None
    ) -> tuple[TokenizedDataset, set[str] | None]:
        sentences, tags = self._read(path, with_labels)
        present = None
        if tags is not None:  # entity types present in the whole file, after the domain's type map
            mapped = {self.label_space.map(tag, domain) for sentence in tags for tag in sentence}
            present = {tag[2:] for tag in mapped if tag != "O"}
        if limit is not None:
            sentences = sentences[:limit]
            tags = None if tags is None else tags[:limit]
        tag_ids = None
        if tags is not None:
            tag_ids = [self.label_space.encode(sentence, where=str(path), domain=domain) for sentence in tags]
        key = {
            "kind": "words",
            "tokenizer": tokenizer_fingerprint(self.tokenizer),
            "max_length": self.max_length,
            "labels": self.label_space.names,
            "label_map": json.dumps(self.label_space.mapping.get(domain, {}), sort_keys=True),
            "with_labels": with_labels,
            "limit": limit,
        }
        arrays = cached_arrays(
            self.cache_dir,
            path,
            key,
            lambda: tokenize_words(sentences, tag_ids, self.tokenizer, self.max_length),
            required=("ids", "offsets", "cut_words", "word_starts", *(("labels",) if with_labels else ())),
        )
        cut = int(arrays["cut_words"])
        self.cut_words[f"{domain}/{path.stem}"] = cut
        if cut:
            log.warning("%s: %d words lie past max_length=%d and are not scored", path, cut, self.max_length)
        tokens = TokenizedTexts(arrays["ids"], arrays["offsets"])
        labels = TokenizedTexts(arrays["labels"], arrays["offsets"]) if "labels" in arrays else None
        word_starts = TokenizedTexts(arrays["word_starts"], arrays["offsets"])
        return TokenizedDataset(tokens, labels, word_starts=word_starts), present
