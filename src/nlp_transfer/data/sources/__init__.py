"""Builders of ``data/<task>/<domain>/<split>.jsonl`` from each dataset's original public files.

One module per source format (``amazon``, ``carer``, ``goemotions``, ``agnews``, ``bbc``, ``conll``);
``fetch`` obtains the pinned raw files and ``tasks`` ties sources to tasks for the CLI
(``scripts/prepare_data.py``). Standard library only.
"""
