"""nlp-transfer: transfer-learning strategies for NLP on PyTorch Lightning and Hydra.

Importing the package is cheap on purpose: heavy libraries (Lightning, transformers, wandb)
are imported inside the functions that run a job, so `--help` and `--cfg` stay instant.
"""

__version__ = "0.1.0"
