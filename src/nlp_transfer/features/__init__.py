"""Features of a frozen encoder, encoded once per dataset: the store (disk and memory, `store.py`) and the
component a frozen-encoder strategy owns to fill and read it (`frozen_features.py`).

ARCHITECTURE.md lists the feature cache under `callbacks/`; it is a plain component here instead, which
`strategies/feature_extraction.py` owns and calls in its own hooks and `features()`: no callback that
duck-types the module, no batch rewritten under a magic key. Imports torch and `data/` (atomic writes) only,
so `diagnostics/` reuses the store without Lightning.
"""
