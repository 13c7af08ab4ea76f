"""Information maximisation on unlabeled target text (Shi & Sha 2012, "Information-Theoretical
Learning of Discriminative Clusters for Unsupervised Domain Adaptation", ICML; the L_IM objective of
SHOT, Liang et al. 2020, ICML):

    IM = mean_i H(p_i) − H(mean_i p_i)

Confident predictions lower the first term; predictions spread over the classes raise the second,
so a model that puts every text in one class is no longer rewarded. Lower is better.
"""

from __future__ import annotations

from nlp_transfer.selection.entropy import entropy
from nlp_transfer.selection.validator import Validator
from nlp_transfer.strategies.outputs import ModelOutputs


class InfoMaxValidator(Validator):
    """Mean per-row entropy minus the entropy of the mean prediction (rows: texts, or words)."""

    name = "info_max"
    higher_is_better = False

    def __call__(self, target_unlabeled: ModelOutputs) -> float:
        probs = target_unlabeled.probs.double()
        return float(entropy(probs).mean() - entropy(probs.mean(dim=0)))
