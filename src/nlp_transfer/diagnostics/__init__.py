"""Before training: transferability scores and domain-shift measures on frozen features.

`nlp-transfer diagnose` (diagnostics/report.py) computes them for every (backbone, source, target) of a task.
"""
