"""The default AdamW is fused (one kernel): the updates of torch's per-tensor loop, clipping still applied."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nlp_transfer.strategies.optimization import clip_gradients, steps_own_scaling
from tests.conftest import TINY_FAST, compose_config
from tests.conftest import fit_quietly as fit
from tests.strategies.test_strategy_contracts import build, snapshot


def two_models() -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(0)
    first = nn.Sequential(nn.Linear(8, 16), nn.LayerNorm(16), nn.Linear(16, 3))
    second = nn.Sequential(nn.Linear(8, 16), nn.LayerNorm(16), nn.Linear(16, 3))
    second.load_state_dict(first.state_dict())
    return first, second


def loss_of(model: nn.Module, x: torch.Tensor, y: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    return nn.functional.cross_entropy(model(x), y) * scale


def test_the_default_strategy_optimizer_is_a_fused_adamw(tmp_path) -> None:
    cfg = compose_config([*TINY_FAST, f"paths.cache_dir={tmp_path}"], tmp_path)
    assert cfg.strategy.optimizer._target_ == "torch.optim.AdamW" and cfg.strategy.optimizer.fused is True
    datamodule, model = build("fine_tune", tmp_path)
    optimizer = fit(model, datamodule, steps=1, gradient_clip_val=1.0).optimizers[0]
    assert isinstance(optimizer, torch.optim.AdamW) and optimizer.defaults["fused"] is True
    assert steps_own_scaling(optimizer)


@pytest.mark.parametrize("algorithm", ["norm", "value"])
def test_clipped_fused_updates_equal_the_per_tensor_loop(algorithm: str) -> None:
    fused_model, loop_model = two_models()
    fused = torch.optim.AdamW(fused_model.parameters(), lr=0.05, weight_decay=0.01, fused=True)
    loop = torch.optim.AdamW(loop_model.parameters(), lr=0.05, weight_decay=0.01, foreach=False)
    torch.manual_seed(1)
    for _ in range(5):
        x, y = torch.randn(6, 8) * 10, torch.randint(0, 3, (6,))
        for model, optimizer in ((fused_model, fused), (loop_model, loop)):
            optimizer.zero_grad()
            loss_of(model, x, y, scale=50.0).backward()  # large gradients: the clip is active
            clip_gradients(optimizer, 0.1, algorithm)
        norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in fused_model.parameters()]))
        if algorithm == "norm":
            assert norm == pytest.approx(0.1, rel=1e-4)
        else:
            assert max(p.grad.abs().max() for p in fused_model.parameters()) <= 0.1
        fused.step()
        loop.step()
    for a, b in zip(fused_model.parameters(), loop_model.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_clipping_under_fp16_loss_scaling_unscales_first() -> None:
    """16-mixed: the scaler unscales before the clip; the fused step then takes the gradients as they are."""
    fused_model, loop_model = two_models()
    fused = torch.optim.AdamW(fused_model.parameters(), lr=0.05, fused=True)
    loop = torch.optim.AdamW(loop_model.parameters(), lr=0.05, foreach=False)
    scalers = [torch.amp.GradScaler("cpu", init_scale=1024.0) for _ in range(2)]
    torch.manual_seed(1)
    x, y = torch.randn(6, 8) * 10, torch.randint(0, 3, (6,))
    for (model, optimizer), scaler in zip(((fused_model, fused), (loop_model, loop)), scalers, strict=True):
        scaler.scale(loss_of(model, x, y, scale=50.0)).backward()
        if optimizer is fused:
            clip_gradients(optimizer, 0.1, "norm", scaler)
        else:  # torch's documented recipe for clipping with a GradScaler
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        scaler.step(optimizer)
        scaler.update()
    for a, b in zip(fused_model.parameters(), loop_model.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("precision", ["32-true", "bf16-mixed"])
def test_lightning_clips_a_fused_optimizer_as_it_clips_the_loop(precision: str, tmp_path) -> None:
    """Lightning's own clipping (per-tensor AdamW) and ours (fused) move the weights alike. Adam's update
    hardly depends on a gradient's scale, so eps = 1 makes it: without the clip the weights move otherwise."""

    def moves(clip: float | None, *overrides: str) -> dict[str, torch.Tensor]:
        torch.manual_seed(0)
        datamodule, model = build(
            "fine_tune", tmp_path, "strategy.optimizer.lr=1.0", "+strategy.optimizer.eps=1.0", *overrides
        )
        before = snapshot(model)
        fit(model, datamodule, steps=3, precision=precision, gradient_clip_val=clip, deterministic=True)
        after = dict(model.named_parameters())
        return {n: p.detach() - before[n] for n, p in after.items() if not torch.equal(p, before[n])}

    fused, loop, unclipped = moves(1e-2), moves(1e-2, "strategy.optimizer.fused=false"), moves(None)
    assert fused and set(fused) == set(loop)
    scale = max(d.abs().max() for d in fused.values())
    for name, move in fused.items():
        torch.testing.assert_close(move, loop[name], rtol=1e-2, atol=1e-3 * scale)
    assert max((unclipped[n] - move).abs().max() for n, move in fused.items()) > 0.5 * scale
