"""Layer groups of Hugging Face encoders: found for BERT and DistilBERT layouts, each parameter once."""

from __future__ import annotations

import pytest
from torch import nn

from nlp_transfer.models.backbone import random_bert
from nlp_transfer.models.layer_groups import encoder_layer_groups


def test_bert_groups_are_embeddings_then_each_layer_in_order() -> None:
    encoder = random_bert(num_hidden_layers=3)
    groups = encoder_layer_groups(encoder)
    assert [g.name for g in groups] == ["embeddings", "layer_0", "layer_1", "layer_2"]
    for i in range(3):
        assert groups[i + 1].names() == {
            n for n, _ in encoder.named_parameters() if n.startswith(f"encoder.layer.{i}.")
        }
    assert "embeddings.word_embeddings.weight" in groups[0].names()
    every = [n for g in groups for n in g.names()]
    assert sorted(every) == sorted(n for n, _ in encoder.named_parameters())  # each exactly once


def test_distilbert_layers_are_found_under_transformer_layer() -> None:
    from transformers import DistilBertConfig, DistilBertModel

    encoder = DistilBertModel(DistilBertConfig(dim=16, hidden_dim=32, n_layers=2, n_heads=2, vocab_size=100))
    groups = encoder_layer_groups(encoder)
    assert [g.name for g in groups] == ["embeddings", "layer_0", "layer_1"]
    assert all(n.startswith("transformer.layer.1.") for n in groups[2].names())


def test_an_encoder_without_known_layers_is_named_in_the_error() -> None:
    class Bag(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj = nn.Linear(4, 4)

    with pytest.raises(ValueError, match="Cannot find the transformer layers of Bag"):
        encoder_layer_groups(Bag())
