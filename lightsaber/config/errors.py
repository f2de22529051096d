"""The error a config raises: where (key path), what was seen, what is allowed, a suggestion."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from lightsaber.exceptions import LightsaberError

__all__ = ["ConfigError", "Issue", "format_path", "suggest"]

_MISSING = object()


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


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass(frozen=True)
class Issue:
    """One problem in a config.

    Attributes
    ----------
    path : str
        Key path such as ``"trainer.max_epochs"`` or ``"metrics[1]"``.
    problem : str
        What is wrong.
    value : object
        The value seen (omitted from the message when not known).
    allowed : str
        What would be accepted.
    hint : str
        A suggestion, such as ``"did you mean 'network'?"``.
    """

    path: str
    problem: str
    value: Any = _MISSING
    allowed: str = ""
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.path}: {self.problem}"
        if self.value is not _MISSING:
            text += f"; got {_short(self.value)}"
        if self.allowed:
            text += f"; allowed: {self.allowed}"
        if self.hint:
            text += f" ({self.hint})"
        return text


class ConfigError(LightsaberError, ValueError):
    """An experiment config is invalid; nothing has run.

    The message names each key path, the value seen and what is allowed. ``issues`` holds the
    individual problems and ``path`` the first one's key path.

    Examples
    --------
    >>> err = ConfigError.at("trainer.max_epochs", "must be a positive integer", value=-3,
    ...                      allowed="an integer >= 1")
    >>> err.path
    'trainer.max_epochs'
    >>> print(err)
    invalid config: trainer.max_epochs: must be a positive integer; got -3; allowed: an integer >= 1
    """

    def __init__(self, issues: Sequence[Issue] | str) -> None:
        if isinstance(issues, str):
            issues = [Issue("<root>", issues)]
        self.issues = list(issues)
        super().__init__(self._message())

    @classmethod
    def at(cls, path: str, problem: str, *, value: Any = _MISSING, allowed: str = "",
           hint: str = "") -> ConfigError:
        """An error with a single issue."""
        return cls([Issue(path, problem, value, allowed, hint)])

    @property
    def path(self) -> str:
        """Key path of the first issue."""
        return self.issues[0].path

    @property
    def paths(self) -> list[str]:
        """Key paths of every issue."""
        return [issue.path for issue in self.issues]

    def _message(self) -> str:
        if len(self.issues) == 1:
            return f"invalid config: {self.issues[0]}"
        lines = "\n".join(f"  - {issue}" for issue in self.issues)
        return f"invalid config ({len(self.issues)} problems):\n{lines}"


def unknown_key(path: str, key: str, allowed: Iterable[str]) -> Issue:
    """The issue of an unknown key, with the allowed keys and a did-you-mean suggestion."""
    allowed = sorted(allowed)
    close = suggest(key, allowed)
    return Issue(path, "unknown key", allowed=", ".join(allowed) or "none",
                 hint=f"did you mean '{close}'?" if close else "")
