"""The error a config raises: where (key path), what was seen, what is allowed, a suggestion."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from lightsaber.exceptions import ConfigError, Issue

# ConfigError and Issue live in lightsaber.exceptions; re-exported for the config modules.
__all__ = ["ConfigError", "Issue", "format_path", "suggest", "unknown_key"]



def format_path(loc: Iterable[Any]) -> str:
    """Dotted key path with ``[i]`` for list positions.

    Examples
    --------
    >>> format_path(["metrics", 1, "name"])
    'metrics[1].name'
    >>> format_path([])
    '<root>'
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "<root>"


def suggest(word: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to a misspelt ``word`` (``None`` when nothing is close).

    Examples
    --------
    >>> suggest("netwrok", ["network", "loss", "lr"])
    'network'
    """
    close = difflib.get_close_matches(str(word), [str(c) for c in candidates], n=1, cutoff=0.6)
    return close[0] if close else None



def unknown_key(path: str, key: str, allowed: Iterable[str]) -> Issue:
    """The issue of an unknown key, with the allowed keys and a did-you-mean suggestion."""
    allowed = sorted(allowed)
    close = suggest(key, allowed)
    return Issue(path, "unknown key", allowed=", ".join(allowed) or "none",
                 hint=f"did you mean '{close}'?" if close else "")
