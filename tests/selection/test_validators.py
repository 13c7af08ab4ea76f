"""Entropy, information maximisation and DEV on hand-built predictions and features."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nlp_transfer.selection.density_ratio import density_ratio_weights
from nlp_transfer.selection.dev import DEVValidator, dev_risk
from nlp_transfer.selection.entropy import EntropyValidator
from nlp_transfer.selection.info_max import InfoMaxValidator
from nlp_transfer.selection.validator import ValidatorUndefined
from nlp_transfer.strategies.outputs import ModelOutputs


def unlabeled(probs: list[list[float]]) -> ModelOutputs:
    probs_t = torch.tensor(probs)
    return ModelOutputs.from_probs(probs_t, features=torch.zeros(len(probs_t), 2))


CONFIDENT_BALANCED = unlabeled([[0.98, 0.02], [0.02, 0.98]] * 4)  # sure of itself, both classes used
COLLAPSED = unlabeled([[0.98, 0.02]] * 8)  # sure of itself, everything in one class
UNIFORM = unlabeled([[0.5, 0.5]] * 8)


def test_entropy_prefers_a_confident_model_and_gives_log_c_for_a_uniform_one() -> None:
    validator = EntropyValidator()
    assert not validator.higher_is_better
    assert validator(UNIFORM) == pytest.approx(math.log(2))
    expected = -(0.98 * math.log(0.98) + 0.02 * math.log(0.02))
    assert validator(CONFIDENT_BALANCED) == pytest.approx(expected)
    assert validator.better(validator(CONFIDENT_BALANCED), than=validator(UNIFORM))


def test_info_max_prefers_confident_balanced_predictions_over_uniform_and_collapsed_ones() -> None:
    validator = InfoMaxValidator()
    confident, collapsed, uniform = validator(CONFIDENT_BALANCED), validator(COLLAPSED), validator(UNIFORM)
    assert uniform == pytest.approx(0.0, abs=1e-12)  # mean H = H(mean) = log 2
    assert collapsed == pytest.approx(0.0, abs=1e-12)  # one class everywhere: no information
    assert confident == pytest.approx(EntropyValidator()(CONFIDENT_BALANCED) - math.log(2))
    assert validator.better(confident, than=uniform) and validator.better(confident, than=collapsed)
    # entropy alone cannot tell the collapsed model from the useful one
    assert EntropyValidator()(COLLAPSED) == pytest.approx(EntropyValidator()(CONFIDENT_BALANCED))


def test_dev_with_identical_source_and_target_features_is_the_plain_mean_loss() -> None:
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(64, 8, generator=generator)
    losses = torch.rand(64, generator=generator)
    weights = density_ratio_weights(features, features.clone())
    assert weights == pytest.approx(torch.ones(64), abs=1e-6)
    source = ModelOutputs.from_probs(torch.full((64, 2), 0.5), features, losses)
    target = ModelOutputs.from_probs(torch.full((64, 2), 0.5), features.clone())
    assert DEVValidator()(source, target) == pytest.approx(float(losses.double().mean()), abs=1e-6)


def test_dev_risk_matches_the_control_variate_formula_computed_with_numpy() -> None:
    rng = np.random.default_rng(1)
    losses, weights = rng.random(50), rng.gamma(2.0, 0.5, 50)
    weighted = weights * losses
    eta = -np.cov(weighted, weights)[0, 1] / np.var(weights, ddof=1)
    expected = weighted.mean() + eta * weights.mean() - eta
    assert dev_risk(torch.from_numpy(losses), torch.from_numpy(weights)) == pytest.approx(expected)


def test_dev_weights_source_texts_that_look_like_the_target_and_estimates_their_loss() -> None:
    """Source: two clusters with losses 0.1 and 1.0; the target lies on the second cluster only."""
    generator = torch.Generator().manual_seed(0)
    near, far = torch.randn(100, 4, generator=generator) + 3.0, torch.randn(100, 4, generator=generator) - 3.0
    source_features = torch.cat([near, far])
    losses = torch.cat([torch.full((100,), 1.0), torch.full((100,), 0.1)])
    target_features = torch.randn(200, 4, generator=generator) + 3.0
    weights = density_ratio_weights(source_features, target_features)
    assert weights[:100].mean() > 10 * weights[100:].mean()
    risk = DEVValidator()(
        ModelOutputs.from_probs(torch.full((200, 2), 0.5), source_features, losses),
        ModelOutputs.from_probs(torch.full((200, 2), 0.5), target_features),
    )
    plain = float(losses.mean())  # 0.55: blind to the shift
    assert abs(risk - 1.0) < abs(plain - 1.0) / 2


def test_dev_is_undefined_without_source_losses_and_says_why() -> None:
    with pytest.raises(ValidatorUndefined, match="losses"):
        DEVValidator()(UNIFORM, UNIFORM)


def test_a_validator_needs_what_its_call_names_and_unknown_inputs_are_refused_at_definition() -> None:
    from nlp_transfer.selection.validator import Validator

    assert DEVValidator.needs() == ("source_val", "target_unlabeled")
    assert EntropyValidator.needs() == ("target_unlabeled",)
    with pytest.raises(TypeError, match=r"from \['source_val', .*got \['target_test'\]"):

        class Peeking(Validator):  # target labels are no input a validator can ask for
            name = "peeking"
            higher_is_better = True

            def __call__(self, target_test: ModelOutputs) -> float:
                return 0.0


def test_selection_entries_must_build_validators_with_distinct_names() -> None:
    from nlp_transfer.selection.catalog import builtin_classes, check_validators, validator_class

    with pytest.raises(TypeError, match=r"_target_: nlp_transfer\.selection\.entropy\.EntropyValidator"):
        check_validators(["entropy"])
    with pytest.raises(ValueError, match="twice"):
        check_validators([EntropyValidator(), EntropyValidator()])
    assert set(builtin_classes()) == {"source_val", "entropy", "info_max", "dev", "bnm", "class_ami", "snd"}
    configured = {"validators": [{"_target_": "nlp_transfer.selection.dev.DEVValidator", "l2": 1.0}]}
    assert validator_class("dev", configured) is DEVValidator
    with pytest.raises(ValueError, match=r"no validator 'entropi'.*info_max"):
        validator_class("entropi", configured)
