"""Run records (`results.json`) and, later, sweep tables. No torch or Lightning imports here."""
