"""Metrics that torchmetrics does not offer: entity-level precision/recall/F1 for NER (seqeval)."""
