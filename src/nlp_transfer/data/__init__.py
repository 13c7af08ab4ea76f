"""Data: JSONL readers, label spaces, cached tokenization, collators and DataModules."""
