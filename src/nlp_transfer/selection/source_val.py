"""The default validator: the task's own metric on labeled source validation data."""

from __future__ import annotations

from nlp_transfer.selection.validator import Validator


class SourceValValidator(Validator):
    """`task.selection_metric` (source/val/acc, macro-F1 or entity F1): the number Lightning already logs.

    It assumes source and target share a labelling function; it ignores the shift, which is what the
    other validators try to account for.
    """

    name = "source_val"
    higher_is_better = True

    def __call__(self, source_val_metric: float) -> float:
        return float(source_val_metric)
