"""A BERT-style masked-LM head whose output layer shares the encoder's input embedding matrix.

BERT (Devlin et al. 2019) predicts a masked token by dense → GELU → LayerNorm → a decoder whose
weight is the input word-embedding matrix (tied, as in Press & Wolf 2017) plus a bias of its own.
Tying keeps the head small and makes MLM training move the very embeddings the task head reads.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class MaskedLMHead(nn.Module):
    """Token features (..., hidden) → vocabulary logits (..., vocab).

    Args:
        word_embeddings: the encoder's input embeddings (`encoder.get_input_embeddings()`); their
            weight becomes the decoder weight (the same Parameter, not a copy).
        layer_norm_eps: the encoder's LayerNorm epsilon (BERT: 1e-12).
    """

    def __init__(self, word_embeddings: nn.Embedding, layer_norm_eps: float = 1e-12) -> None:
        super().__init__()
        vocab_size, hidden = word_embeddings.weight.shape
        self.dense = nn.Linear(hidden, hidden)
        self.layer_norm = nn.LayerNorm(hidden, eps=layer_norm_eps)
        self.decoder = nn.Linear(hidden, vocab_size, bias=False)
        self.decoder.weight = word_embeddings.weight  # tied
        self.bias = nn.Parameter(torch.zeros(vocab_size))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        hidden = self.layer_norm(F.gelu(self.dense(features)))
        return self.decoder(hidden) + self.bias
