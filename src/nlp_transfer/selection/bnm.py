"""Batch nuclear norm of the target predictions as a validator (BNM: Cui et al. 2020, CVPR; as a validator:
Musgrave et al. 2022, "Three New Validators and a Large-Scale Benchmark Ranking for Unsupervised Domain
Adaptation", where it ranked among the best):

    BNM = ‖P‖_* / n,   P the (n, K) softmax predictions on unlabeled target text

The nuclear norm (sum of singular values) grows as rows get confident and as they spread over more
classes, so unlike `entropy` it does not reward a model that puts every text in one class. Higher is
better. Dividing by n keeps it in [0, 1] and leaves the ranking of validation points unchanged (the
target slice is the same at every point). At token level (NER) each word (its first sub-token:
`ModelOutputs` rows) is a row.
"""

from __future__ import annotations

from nlp_transfer.adaptation.bnm import nuclear_norm
from nlp_transfer.selection.validator import Validator, ValidatorUndefined
from nlp_transfer.strategies.outputs import ModelOutputs


class BNMValidator(Validator):
    """‖softmax predictions‖_* / rows on the target slice (rows: texts, or words)."""

    name = "bnm"
    higher_is_better = True

    def __call__(self, target_unlabeled: ModelOutputs) -> float:
        probs = target_unlabeled.probs.double()
        if len(probs) == 0:
            raise ValidatorUndefined("bnm needs at least one target row, got none")
        return float(nuclear_norm(probs) / len(probs))
