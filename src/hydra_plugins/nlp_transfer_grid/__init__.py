"""A Hydra grid sweeper that trains a source-only strategy once per source (found via `hydra_plugins`)."""
