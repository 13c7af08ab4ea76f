"""Text normalisation shared by the classification sources."""

from __future__ import annotations

import re

_WHITESPACE = re.compile(r"\s+")


def collapse_whitespace(text: str) -> str:
    """Every whitespace run (newlines included) becomes one space; ends stripped."""
    return _WHITESPACE.sub(" ", text).strip()


def join_title_body(title: str, body: str, no_period_after: str = "") -> str:
    """``title + ". " + body``, the way both review and news texts put the headline first.

    When the title already ends in one of ``no_period_after`` the two are joined with a plain space.
    An empty part leaves the other one alone.
    """
    if not title:
        return body
    if not body:
        return title
    if no_period_after and title[-1] in no_period_after:
        return f"{title} {body}"
    return f"{title}. {body}"
