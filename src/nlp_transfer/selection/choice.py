"""From a table of validation points to each validator's pick, and the oracle beside them.

A point is one row: `step`, one score per validator (None where it was undefined), and the target
test metric measured at that point. The target metric is read only to report what each pick is worth
and to find the oracle (the best point in hindsight, an upper bound no real run can reach); it never
takes part in a choice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from nlp_transfer.selection.validator import Validator


def _defined(value: Any) -> bool:
    return value is not None and math.isfinite(value)


def choose(points: Sequence[dict[str, Any]], validators: Sequence[Validator], target_metric: str) -> dict:
    """`{"validators": {name: {step, score, <target_metric>}}, "oracle": {step, <target_metric>}}`.

    Ties keep the earlier point, as Lightning's ModelCheckpoint does. A validator with no defined score
    at any point is left out of `validators` (the caller records why).
    """
    picks: dict[str, dict[str, Any]] = {}
    for validator in validators:
        best: dict[str, Any] | None = None
        for point in points:
            score = point.get(validator.name)
            if _defined(score) and (best is None or validator.better(score, best[validator.name])):
                best = point
        if best is not None:
            picks[validator.name] = {"step": best["step"], "score": best[validator.name]}
            if target_metric in best:  # measured unless the oracle was off
                picks[validator.name][target_metric] = best[target_metric]
    oracle: dict[str, Any] | None = None
    for point in points:
        if _defined(point.get(target_metric)) and (
            oracle is None or point[target_metric] > oracle[target_metric]
        ):
            oracle = point
    return {
        "validators": picks,
        "oracle": None if oracle is None else {"step": oracle["step"], target_metric: oracle[target_metric]},
    }
