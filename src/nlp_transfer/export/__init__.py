"""Taking a run's model out: Hugging Face export, model card, prediction on new text."""
