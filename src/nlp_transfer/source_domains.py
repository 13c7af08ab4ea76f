"""`domain.source` as one domain or a list of them (multi-source adaptation), read the same way everywhere.

`domain.source=books` is the single-source setting; `domain.source=[books,dvd,electronics]` pools those
sources (data/balanced_sources.py gives every training batch an equal share of each). Run names, the
results record and the tables name a pooled source by joining its domains with `+`
(`books+dvd+electronics`), so a record's `config.source` stays one string. A one-element list is the
single source it names. Pure Python (no torch, no omegaconf import): the config resolvers, the sweeper and
the results CLI use it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: joins the domains of a pooled source in names and records: `books+dvd+electronics`
SEPARATOR = "+"


class SourceDomainsError(ValueError):
    """A `domain.source` that names no usable set of source domains; the message names the fix."""


def source_list(source: Any) -> list[str]:
    """`books` → [books]; `[books, dvd]` (a list, tuple or omegaconf ListConfig) → [books, dvd];
    `books+dvd` (a recorded name) → [books, dvd].

    Raises:
        SourceDomainsError: an empty list, a duplicate source, or a value that is no domain name.
    """
    if isinstance(source, str):
        sources = source.split(SEPARATOR) if source else []
    elif isinstance(source, Iterable):
        sources = list(source)
    else:
        raise SourceDomainsError(f"domain.source must be a domain name or a list of them, got {source!r}")
    if not sources:
        raise SourceDomainsError(
            "domain.source is empty: name one source domain (domain.source=books) or several "
            "(domain.source=[books,dvd,electronics])."
        )
    bad = [s for s in sources if not isinstance(s, str) or not s or SEPARATOR in s]
    if bad:
        raise SourceDomainsError(f"domain.source holds {bad}, which are not domain names; got {sources}")
    duplicates = sorted({s for s in sources if sources.count(s) > 1})
    if duplicates:
        raise SourceDomainsError(
            f"domain.source lists {duplicates} more than once ({sources}); name each source domain once."
        )
    return sources


def source_name(source: Any) -> str:
    """The one-string name of a source: `books`, or `books+dvd+electronics` for a pooled source."""
    return SEPARATOR.join(source_list(source))


def checked_sources(source: Any, target: str) -> list[str]:
    """The source domains, refusing a target among several sources (it would train on target labels).

    A single source equal to the target stays allowed: that is the in-domain diagonal of a table.
    """
    sources = source_list(source)
    if len(sources) > 1 and target in sources:
        others = [s for s in sources if s != target]
        raise SourceDomainsError(
            f"domain.target={target!r} is also one of the sources {sources}: its labels would reach "
            f"training. Leave it out: domain.source=[{','.join(others)}]."
        )
    return sources


def is_multi_source(source: Any) -> bool:
    """Whether `source` pools several domains."""
    return len(source_list(source)) > 1
