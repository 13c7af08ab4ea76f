"""At token level (NER) every label-free validator reads words: the rows `ModelOutputs.from_batch` gives,
each word's first sub-token, never other sub-word pieces, [CLS]/[SEP] or padding (hand-made batches).

These replace the old all-real-tokens definition: each test also checks that the old rows would score
differently, so it fails under them.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from nlp_transfer.selection.bnm import BNMValidator
from nlp_transfer.selection.class_ami import ClassAMIValidator
from nlp_transfer.selection.density_ratio import density_ratio_weights
from nlp_transfer.selection.dev import DEVValidator, dev_risk
from nlp_transfer.selection.entropy import EntropyValidator
from nlp_transfer.selection.info_max import InfoMaxValidator
from nlp_transfer.selection.snd import SNDValidator
from nlp_transfer.strategies.outputs import IGNORE_INDEX, ModelOutputs

# [CLS] w0 w1a w1b w2 [SEP] pad pad | [CLS] w0a w0b w0c w1 w2 w3 [SEP] | [CLS] w0 w1 w2a w2b w3 [SEP] pad
MASK = torch.tensor([[1, 1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1, 0]])
STARTS = torch.tensor(
    [[0, 1, 1, 0, 1, 0, 0, 0], [0, 1, 0, 0, 1, 1, 1, 0], [0, 1, 1, 1, 0, 1, 0, 0]], dtype=torch.bool
)
#: the word starts by hand, (sentence, position) in batch order: 3 + 4 + 4 words of 21 real tokens
WORDS = [(0, 1), (0, 2), (0, 4), (1, 1), (1, 4), (1, 5), (1, 6), (2, 1), (2, 2), (2, 3), (2, 5)]
CLASSES = 3


def hand_batch(seed: int, labeled: bool) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    """A batch (labels on word starts only, if `labeled`), its features (3, 8, 4) and logits (3, 8, 3)."""
    generator = torch.Generator().manual_seed(seed)
    batch = {"input_ids": torch.ones_like(MASK), "attention_mask": MASK, "word_starts": STARTS}
    features = torch.randn(*MASK.shape, 4, generator=generator)
    logits = 2 * torch.randn(*MASK.shape, CLASSES, generator=generator)
    if labeled:
        tags = torch.randint(0, CLASSES, MASK.shape, generator=generator)
        batch["labels"] = torch.where(STARTS, tags, torch.full_like(tags, IGNORE_INDEX))
    return batch, features, logits


def at(values: torch.Tensor, rows: list[tuple[int, int]]) -> torch.Tensor:
    return values[torch.tensor([r[0] for r in rows]), torch.tensor([r[1] for r in rows])]


def real_rows() -> list[tuple[int, int]]:
    return [tuple(index) for index in MASK.bool().nonzero().tolist()]


def hand_outputs(features: torch.Tensor, logits: torch.Tensor, rows: list[tuple[int, int]]) -> ModelOutputs:
    """Outputs of exactly the listed rows, built without `from_batch`."""
    example = torch.tensor([r[0] for r in rows])
    return ModelOutputs(at(logits, rows).float(), at(features, rows), example, len(MASK))


def entropies(probs: np.ndarray) -> np.ndarray:
    return -(probs * np.log(probs)).sum(-1)


def test_prediction_validators_score_the_target_words_by_hand() -> None:
    batch, features, logits = hand_batch(seed=0, labeled=False)
    target = ModelOutputs.from_batch(features, logits, batch, "token")
    probs = at(logits, WORDS).double().softmax(-1).numpy()
    by_hand = {
        "entropy": entropies(probs).mean(),
        "info_max": entropies(probs).mean() - entropies(probs.mean(0)),
        "bnm": np.linalg.svd(probs, compute_uv=False).sum() / len(WORDS),
    }
    every_real_token = hand_outputs(features, logits, real_rows())
    for validator in (EntropyValidator(), InfoMaxValidator(), BNMValidator()):
        score = validator(target_unlabeled=target)
        assert score == pytest.approx(by_hand[validator.name], rel=1e-5)
        assert validator(target_unlabeled=every_real_token) != pytest.approx(score, rel=1e-3)  # old rows


def test_feature_and_prediction_validators_pair_each_words_features_with_its_prediction() -> None:
    batch, features, logits = hand_batch(seed=1, labeled=False)
    target = ModelOutputs.from_batch(features, logits, batch, "token")
    words, every_real_token = (
        hand_outputs(features, logits, WORDS),
        hand_outputs(features, logits, real_rows()),
    )
    for validator in (SNDValidator(), ClassAMIValidator()):
        score = validator(target_unlabeled=target)
        assert score == pytest.approx(validator(target_unlabeled=words), rel=1e-6)
        assert validator(target_unlabeled=every_real_token) != pytest.approx(score, rel=1e-3)  # old rows


def test_dev_compares_sentences_by_their_words_features_and_labeled_words_loss() -> None:
    source_batch, source_features, source_logits = hand_batch(seed=2, labeled=True)
    target_batch, target_features, target_logits = hand_batch(seed=3, labeled=False)
    source_val = ModelOutputs.from_batch(source_features, source_logits, source_batch, "token")
    target = ModelOutputs.from_batch(target_features, target_logits, target_batch, "token")
    token_loss = F.cross_entropy(source_logits.transpose(1, 2), source_batch["labels"], reduction="none")
    losses = torch.stack([token_loss[i][STARTS[i]].mean() for i in range(3)])  # every word is labeled here

    def word_means(values: torch.Tensor) -> torch.Tensor:
        return torch.stack([values[i][STARTS[i]].mean(0) for i in range(3)])

    def real_means(values: torch.Tensor) -> torch.Tensor:
        return torch.stack([values[i][MASK[i].bool()].mean(0) for i in range(3)])

    weights = density_ratio_weights(word_means(source_features), word_means(target_features), l2=0.1)
    score = DEVValidator(l2=0.1)(source_val=source_val, target_unlabeled=target)
    assert score == pytest.approx(dev_risk(losses, weights), rel=1e-5)
    old_weights = density_ratio_weights(real_means(source_features), real_means(target_features), l2=0.1)
    assert dev_risk(losses, old_weights) != pytest.approx(score, rel=1e-3)  # mean of every real token's
