"""BERT's masked-language-model corruption (Devlin et al. 2019, §3.1 and appendix A.1).

A random `probability` (15%) of the real, non-special tokens is chosen for prediction; of those,
80% become [MASK], 10% a random token and 10% stay unchanged, so the model cannot assume that only
[MASK] positions matter. Labels hold the original id at chosen positions and -100 elsewhere.

The ids it needs come from the tokenizer, once, as plain numbers (`masking_vocabulary`): a strategy
gets them handed in and never loads a tokenizer itself.
"""

from __future__ import annotations

from typing import Any

import torch

IGNORE_INDEX = -100


def masking_vocabulary(tokenizer: Any) -> dict[str, Any]:
    """What masking needs from a Hugging Face tokenizer: mask id, special ids and vocabulary size.

    Raises:
        ValueError: the tokenizer has no mask token (it was not trained for masked LM).
    """
    if tokenizer.mask_token_id is None:
        raise ValueError(
            f"Tokenizer {type(tokenizer).__name__} ({tokenizer.name_or_path}) has no mask token, so it "
            f"cannot be used for masked-LM training; choose a BERT-style backbone (e.g. backbone=minilm)."
        )
    return {
        "mask_token_id": int(tokenizer.mask_token_id),
        "special_token_ids": sorted({int(i) for i in tokenizer.all_special_ids}),
        "vocab_size": len(tokenizer),
    }


def mask_tokens(
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    mask_token_id: int,
    special_token_ids: list[int],
    vocab_size: int,
    probability: float = 0.15,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(corrupted input_ids, labels) for masked LM; the inputs are left untouched.

    Args:
        input_ids, attention_mask: (batch, seq); padding (mask 0) and special ids are never chosen.
        generator: for reproducible masks (on the ids' device); the global RNG otherwise.
    """
    if not 0.0 < probability < 1.0:
        raise ValueError(f"masking probability must lie in (0, 1), got {probability}")
    device = input_ids.device
    special = torch.isin(input_ids, torch.tensor(special_token_ids, device=device))
    candidates = attention_mask.bool() & ~special

    def draw(p: float) -> torch.Tensor:
        return torch.rand(input_ids.shape, device=device, generator=generator) < p

    chosen = candidates & draw(probability)
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, IGNORE_INDEX))
    to_mask = chosen & draw(0.8)
    to_random = chosen & ~to_mask & draw(0.5)  # half of the remaining 20%
    random_ids = torch.randint(vocab_size, input_ids.shape, device=device, generator=generator)
    corrupted = torch.where(to_mask, torch.full_like(input_ids, mask_token_id), input_ids)
    corrupted = torch.where(to_random, random_ids, corrupted)
    return corrupted, labels
