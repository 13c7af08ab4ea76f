"""Metric names of a run tested on every domain of its task (`evaluate_on=all_domains`).

A strategy that never sees target data trains the same model whatever the target, so one run per source
can be tested on every domain's test split instead of training once per pair. Its metrics are named
`domains/<domain>/test/<metric>` (e.g. `domains/dvd/test/acc`, `domains/dvd/test/class_f1/positive`);
`source/test/*` and `target/test/*` keep meaning the configured pair and are copies of its two domains.
Pure Python: the DataModule names its test splits with it, the results collector reads them back.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

EVALUATE_ON = ("pair", "all_domains")
DOMAINS_PREFIX = "domains/"
TEST_SUFFIX = "/test/"


def domain_test_split(domain: str) -> str:
    """The log prefix of one domain's test split, e.g. `domains/dvd/test`."""
    if "/" in domain:
        raise ValueError(f"A domain name may not contain '/': {domain!r}")
    return f"{DOMAINS_PREFIX}{domain}/test"


def split_domain_metric(key: str) -> tuple[str, str] | None:
    """`domains/dvd/test/acc` → ("dvd", "acc"); None for any other name."""
    if not key.startswith(DOMAINS_PREFIX):
        return None
    domain, sep, metric = key.removeprefix(DOMAINS_PREFIX).partition(TEST_SUFFIX)
    if not sep or not domain or not metric or "/" in domain:
        return None
    return domain, metric


def domain_metrics(metrics: dict[str, float]) -> dict[str, dict[str, float]]:
    """{domain: {metric: value}} from a run's `domains/<domain>/test/<metric>` entries."""
    grouped: dict[str, dict[str, float]] = {}
    for key, value in metrics.items():
        parsed = split_domain_metric(key)
        if parsed is not None:
            grouped.setdefault(parsed[0], {})[parsed[1]] = value
    return grouped


def with_pair_names(metrics: dict[str, float], source: str, target: str) -> dict[str, float]:
    """Add `source/test/*` and `target/test/*` as copies of the pair's domain entries (if tested)."""
    per_domain = domain_metrics(metrics)
    named = dict(metrics)
    for role, domain in (("source", source), ("target", target)):
        for metric, value in per_domain.get(domain, {}).items():
            named[f"{role}/test/{metric}"] = value
    return named


def all_domains_of(task_domains: Iterable[str], source: Any, target: str) -> list[str]:
    """The domains an all-domains run tests: the task's declared ones, plus the run's own if undeclared
    (each of pooled sources: `books+dvd` or [books, dvd])."""
    from nlp_transfer.source_domains import source_list

    domains = list(dict.fromkeys(task_domains))
    return domains + [d for d in dict.fromkeys([*source_list(source), target]) if d not in domains]
