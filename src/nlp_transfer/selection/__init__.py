"""Label-free model selection: validators that score a model without target labels.

In unsupervised domain adaptation the target's labels are unknown, so a checkpoint (or a
hyperparameter setting) has to be chosen from what is available: labeled source validation and
unlabeled target text. Each validator here turns a model's outputs on those splits into one number
and says whether higher or lower is better; `choice.py` picks a validation point per validator.

Only torch is imported here: the Lightning side (running the model, the per-point table) lives in
`nlp_transfer.callbacks.validator_selection`.
"""

from __future__ import annotations

from nlp_transfer.selection.registry import VALIDATORS, build_validators

__all__ = ["VALIDATORS", "build_validators"]
