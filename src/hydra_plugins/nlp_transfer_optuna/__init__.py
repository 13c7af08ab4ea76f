"""A Hydra sweeper on the current Optuna, registered through Hydra's `hydra_plugins` namespace."""
