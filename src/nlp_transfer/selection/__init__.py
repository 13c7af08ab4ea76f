"""Label-free model selection: validators that score a model without target labels.

In unsupervised domain adaptation the target's labels are unknown, so a checkpoint (or a
hyperparameter setting) has to be chosen from what is available: labeled source validation and
unlabeled target text. Each validator here turns a model's outputs on those splits into one number
and says whether higher or lower is better; `choice.py` picks a validation point per validator.
A run's validators are `_target_` entries of `conf/selection/default.yaml`.

Only torch is imported here: the Lightning side (running the model, the per-point table) lives in
`nlp_transfer.callbacks.validator_selection`.
"""
