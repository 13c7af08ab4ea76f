"""BNM, ClassAMI and SND validators against hand computations on tiny tensors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import adjusted_mutual_info_score

from nlp_transfer.selection.bnm import BNMValidator
from nlp_transfer.selection.class_ami import ClassAMIValidator
from nlp_transfer.selection.snd import SNDValidator, soft_neighborhood_density
from nlp_transfer.selection.subsample import fixed_subset
from nlp_transfer.selection.validator import ValidatorUndefined
from nlp_transfer.strategies.outputs import ModelOutputs


def outputs(probs: list[list[float]], features: list[list[float]] | None = None) -> ModelOutputs:
    probs_t = torch.tensor(probs, dtype=torch.float64)
    features_t = torch.zeros(len(probs_t), 2) if features is None else torch.tensor(features)
    return ModelOutputs.from_probs(probs_t, features=features_t)


def test_bnm_is_the_nuclear_norm_over_rows_and_prefers_diverse_confident_predictions() -> None:
    probs = [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]
    expected = np.linalg.svd(np.array(probs), compute_uv=False).sum() / 3
    assert BNMValidator()(target_unlabeled=outputs(probs)) == pytest.approx(expected, rel=1e-6)
    # one-hot and balanced: P = [I; I], singular values √2, √2 → 2√2/4; collapsed: one value 2 → 2/4
    balanced = BNMValidator()(target_unlabeled=outputs([[1.0, 0.0], [0.0, 1.0]] * 2))
    collapsed = BNMValidator()(target_unlabeled=outputs([[1.0, 0.0]] * 4))
    assert balanced == pytest.approx(math.sqrt(2) / 2, rel=1e-6) and collapsed == pytest.approx(0.5, rel=1e-6)
    assert BNMValidator.higher_is_better


# two tight groups of target features: k-means (k = 2) must find rows {0, 1} and {2, 3}
GROUPED_FEATURES = [[1.0, 0.0], [1.0, 0.01], [0.0, 1.0], [0.01, 1.0]]


def test_class_ami_is_one_when_predictions_follow_the_clusters_whatever_their_names() -> None:
    validator = ClassAMIValidator()
    following = outputs([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9], [0.3, 0.7]], GROUPED_FEATURES)
    renamed = outputs([[0.1, 0.9], [0.2, 0.8], [0.9, 0.1], [0.7, 0.3]], GROUPED_FEATURES)
    assert validator(target_unlabeled=following) == pytest.approx(1.0)
    assert validator(target_unlabeled=renamed) == pytest.approx(1.0)


def test_class_ami_of_predictions_crossing_the_clusters_is_minus_a_half_by_hand() -> None:
    # clusters (0, 0, 1, 1), predictions (0, 1, 0, 1): MI = 0, both entropies ln 2. Under the
    # hypergeometric null with marginals (2, 2), (2, 2): n₁₁ = 0, 1, 2 with probability 1/6, 4/6, 1/6 and
    # MI ln 2, 0, ln 2, so E[MI] = ln 2 / 3; AMI = (0 − ln2/3) / (ln 2 − ln2/3) = −1/2
    crossing = outputs([[0.9, 0.1], [0.1, 0.9], [0.8, 0.2], [0.2, 0.8]], GROUPED_FEATURES)
    assert ClassAMIValidator()(target_unlabeled=crossing) == pytest.approx(-0.5)


def test_class_ami_clusters_normalised_features() -> None:
    # the same directions at very different lengths: normalised, they are the two groups again
    scaled = [[100.0, 0.0], [1.0, 0.01], [0.0, 0.001], [0.01, 1.0]]
    following = outputs([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9], [0.3, 0.7]], scaled)
    assert ClassAMIValidator()(target_unlabeled=following) == pytest.approx(1.0)


def test_class_ami_clusters_a_fixed_subset_of_at_most_max_rows_and_needs_more_rows_than_classes() -> None:
    # 40 rows in two direction groups; predictions follow the groups except on rows 0–9 (crossed)
    features = [[1.0, 0.01 * i] for i in range(20)] + [[0.01 * i, 1.0] for i in range(20)]
    probs = [[0.9, 0.1]] * 20 + [[0.1, 0.9]] * 20
    probs[:10] = [[0.1, 0.9]] * 10
    keep = fixed_subset(40, 8)
    assert len(keep) == 8 and len(set(keep.tolist())) == 8 and torch.equal(keep, fixed_subset(40, 8))
    clusters = [0 if i < 20 else 1 for i in keep.tolist()]
    preds = [int(probs[i][1] > 0.5) for i in keep.tolist()]
    expected = adjusted_mutual_info_score(clusters, preds)  # scikit-learn's AMI of the subset's true groups
    got = ClassAMIValidator(max_rows=8)(target_unlabeled=outputs(probs, features))
    assert got == pytest.approx(expected)
    with pytest.raises(ValidatorUndefined, match="more rows"):
        ClassAMIValidator()(target_unlabeled=outputs([[0.9, 0.1], [0.2, 0.8]]))


def snd_by_hand(probs: np.ndarray, temperature: float) -> float:
    """Saito et al.'s SND with loops: each row's neighbour softmax over j ≠ i, its entropy, the mean."""
    unit = probs / np.linalg.norm(probs, axis=1, keepdims=True)
    entropies = []
    for i in range(len(unit)):
        others = [float(unit[i] @ unit[j]) / temperature for j in range(len(unit)) if j != i]
        exps = np.exp(np.array(others) - max(others))
        weights = exps / exps.sum()
        entropies.append(-(weights * np.log(weights)).sum())
    return float(np.mean(entropies))


def test_snd_of_three_rows_by_hand() -> None:
    # rows 0 and 1 identical (cosine 1), row 2 orthogonal to both (cosine 0). τ = 1:
    # row 0's neighbours: row 1 (e¹) and row 2 (e⁰) → weights e/(e+1), 1/(e+1); the same for row 1;
    # row 2's neighbours both at cosine 0 → ½, ½ → entropy ln 2
    probs = [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]
    a, b = math.e / (math.e + 1), 1 / (math.e + 1)
    expected = (2 * -(a * math.log(a) + b * math.log(b)) + math.log(2)) / 3
    got = soft_neighborhood_density(torch.tensor(probs), temperature=1.0).item()
    assert got == pytest.approx(expected) == pytest.approx(snd_by_hand(np.array(probs), 1.0))


def test_snd_matches_the_loop_reference_at_the_papers_temperature() -> None:
    probs = torch.softmax(torch.randn(6, 3, generator=torch.Generator().manual_seed(0)), dim=1).double()
    expected = snd_by_hand(probs.numpy(), 0.05)
    assert SNDValidator()(target_unlabeled=outputs(probs.tolist())) == pytest.approx(expected, rel=1e-6)


def test_snd_subsamples_to_max_rows_and_needs_a_neighbour() -> None:
    probs = torch.softmax(torch.randn(50, 3, generator=torch.Generator().manual_seed(1)), dim=1)
    capped = SNDValidator(max_rows=10)(target_unlabeled=outputs(probs.tolist()))
    kept = probs[fixed_subset(50, 10)]
    assert capped == pytest.approx(snd_by_hand(kept.double().numpy(), 0.05), rel=1e-6)
    with pytest.raises(ValidatorUndefined, match="at least 2"):
        SNDValidator()(target_unlabeled=outputs([[0.5, 0.5]]))
    with pytest.raises(ValueError, match="max_rows"):
        SNDValidator(max_rows=1)
