import pytest
import torch
from seqeval.metrics import f1_score, precision_score, recall_score

from nlp_transfer.metrics.entity_f1 import EntityF1

TAGS = ["O", "B-person", "I-person", "B-location", "I-location"]


def test_matches_seqeval_on_word_sequences_and_skips_ignored_positions() -> None:
    gold = torch.tensor([[0, 1, 2, 0, 3, -100], [3, 4, 0, -100, -100, -100]])
    pred = torch.tensor([[0, 1, 2, 0, 0, 4], [3, 0, 0, 1, 1, 1]])
    metric = EntityF1(TAGS)
    metric.update(pred[:1], gold[:1])
    metric.update(pred[1:], gold[1:])
    result = metric.compute()
    gold_tags = [["O", "B-person", "I-person", "O", "B-location"], ["B-location", "I-location", "O"]]
    pred_tags = [["O", "B-person", "I-person", "O", "O"], ["B-location", "O", "O"]]
    assert result["f1"].item() == pytest.approx(f1_score(gold_tags, pred_tags))
    assert result["precision"].item() == pytest.approx(precision_score(gold_tags, pred_tags)) == 0.5
    assert (
        result["recall"].item() == pytest.approx(recall_score(gold_tags, pred_tags)) == pytest.approx(1 / 3)
    )
    assert result["type_f1/person"].item() == 1.0
    assert result["type_f1/location"].item() == 0.0


def test_perfect_predictions_score_one() -> None:
    gold = torch.tensor([[1, 2, 0, 3]])
    metric = EntityF1(TAGS)
    metric.update(gold.clone(), gold)
    assert metric.compute()["f1"].item() == 1.0
