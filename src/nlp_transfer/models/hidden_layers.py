"""Which hidden layers of an encoder become the token features: the last one, or the mean of the last k.

Devlin et al. 2019 (BERT, §5.3, Table 7) compare feature-based uses of a frozen BERT on CoNLL-2003 NER:
the last hidden layer alone gives 94.9 dev F1, the sum of the last four 95.9 (their mean is the same up
to a constant scale). Lower layers carry more surface and syntactic information, so averaging the top
layers helps most when the encoder is frozen and cannot adapt its last layer to the task.
"""

from __future__ import annotations

from typing import Any

import torch

LAYER_CHOICES = ("last", "mean_last_k")


def encoder_depth(encoder: Any) -> int:
    """Number of transformer layers (hidden states after the embeddings) of a Hugging Face encoder."""
    config = encoder.config
    for name in ("num_hidden_layers", "n_layers", "num_layers"):
        if hasattr(config, name):
            return int(getattr(config, name))
    raise ValueError(f"Cannot tell how many layers {type(encoder).__name__} has")


def check_layer_choice(encoder: Any, layers: str, num_layers: int) -> None:
    """Fail at construction on an unknown choice or a k the encoder does not have."""
    if layers not in LAYER_CHOICES:
        raise ValueError(f"layers must be one of {LAYER_CHOICES}, got {layers!r}")
    if layers == "mean_last_k":
        depth = encoder_depth(encoder)
        if not 1 <= num_layers <= depth:
            raise ValueError(
                f"num_layers={num_layers} but the encoder has {depth} layers: set strategy.num_layers "
                f"between 1 and {depth}, or strategy.layers=last"
            )


def token_states(
    encoder: Any,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    layers: str = "last",
    num_layers: int = 4,
) -> torch.Tensor:
    """(batch, seq, hidden) token features: the last hidden layer, or the mean of the last `num_layers`.

    The embedding output (hidden_states[0]) is never part of the mean: k counts transformer layers.
    """
    if layers == "last":
        return encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    if layers == "mean_last_k":
        out = encoder(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        return torch.stack(out.hidden_states[-num_layers:]).mean(dim=0)
    raise ValueError(f"layers must be one of {LAYER_CHOICES}, got {layers!r}")
