"""Predict with a Hugging Face classification model: batched, length-sorted, output in input order.

Texts are tokenized once (truncated at the tokenizer's `model_max_length`, the run's `task.max_length`),
sorted by length, longest first, so each batch pads little, and every result is put back at its input
position. Sequence level: the label and every label's probability (softmax of the logits). Token level
(NER): a tag per word — its first sub-token's, as in training (data/token_classification.py) — and the
entity spans those IOB2 tags make; words cut off by truncation get no tag (null).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from nlp_transfer.export.predict_inputs import InputRow

#: batches from which on a progress bar is shown (on a terminal: tqdm hides it otherwise)
PROGRESS_FROM_BATCHES = 10


def entity_spans(words: list[str], tags: list[str | None]) -> list[dict[str, Any]]:
    """IOB2 tags → `{"type", "start", "end" (exclusive), "text"}` over word positions.

    A `B-X` opens an entity; `I-X` continues an open `X`; an `I-X` after anything else opens one too (as
    seqeval's default mode reads a model's stray `I-`), and `O` or an untagged word closes it.
    """
    spans: list[dict[str, Any]] = []
    kind, start = None, 0
    for index, tag in enumerate([*tags, None]):
        continues = tag is not None and tag.startswith("I-") and tag[2:] == kind
        if kind is not None and not continues:
            spans.append({"type": kind, "start": start, "end": index, "text": " ".join(words[start:index])})
            kind = None
        if tag is not None and tag != "O" and not continues:
            kind, start = tag[2:], index
    return spans


def _encode(tokenizer: Any, rows: list[InputRow], level: str) -> Any:
    if level == "token":
        return tokenizer([row.words for row in rows], is_split_into_words=True, truncation=True)
    return tokenizer([row.text for row in rows], truncation=True)


def _batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Row indices, longest first (ties in input order), cut into batches."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def _word_tags(encoding: Any, row_index: int, probs: Any, id2label: dict[int, str], words: int) -> list:
    """The tag of each word: its first sub-token's argmax (None for words truncation cut off)."""
    tags: list[str | None] = [None] * words
    previous = None
    for position, word in enumerate(encoding.word_ids(row_index)):
        if word is not None and word != previous:
            tags[word] = id2label[int(probs[position].argmax())]
        previous = word
    return tags


def _result(
    row: InputRow, probs: Any, encoding: Any, index: int, id2label: dict[int, str], level: str
) -> dict:
    out: dict[str, Any] = {"line": row.line}
    if row.id is not None:
        out["id"] = row.id
    if level == "token":
        words = row.words or []
        tags = _word_tags(encoding, index, probs, id2label, len(words))
        return {**out, "tokens": words, "tags": tags, "entities": entity_spans(words, tags)}
    label = id2label[int(probs.argmax())]
    return {
        **out,
        "label": label,
        "probabilities": {id2label[i]: round(float(p), 6) for i, p in enumerate(probs)},
    }


def predict(
    model: Any, tokenizer: Any, rows: list[InputRow], level: str, batch_size: int = 32, progress: bool = True
) -> Iterator[dict[str, Any]]:
    """One result per row, in input order (see the module docstring)."""
    import torch
    from tqdm import tqdm

    tokenizer.padding_side = "right"  # word_ids() positions index the padded rows
    encoding = _encode(tokenizer, rows, level)
    id2label = {int(k): v for k, v in model.config.id2label.items()}
    device = next(model.parameters()).device
    results: list[dict[str, Any] | None] = [None] * len(rows)
    batches = _batches([len(ids) for ids in encoding["input_ids"]], batch_size)
    show = progress and len(batches) >= PROGRESS_FROM_BATCHES
    for batch in tqdm(batches, desc="predict", unit="batch", disable=None if show else True):
        features = [{"input_ids": encoding["input_ids"][i], "attention_mask": encoding["attention_mask"][i]}
                    for i in batch]  # fmt: skip
        padded = tokenizer.pad(features, return_tensors="pt").to(device)
        with torch.inference_mode():
            probs = model(**padded).logits.float().softmax(dim=-1).cpu()
        for row_probs, index in zip(probs, batch, strict=True):
            results[index] = _result(rows[index], row_probs, encoding, index, id2label, level)
    yield from (result for result in results if result is not None)
