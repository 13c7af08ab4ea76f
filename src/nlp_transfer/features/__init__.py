"""Features of a frozen encoder, encoded once per dataset: the store (disk and memory, `store.py`) and the
component a frozen-encoder strategy owns to fill and read it (`frozen_features.py`)."""
