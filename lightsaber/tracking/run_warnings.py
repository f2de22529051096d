"""The warnings of one ``ls.fit`` call: shown to the user, kept on the Run and tagged in MLflow.

A result that deserves a second look (a default metric left out, a split too small to trust, an
argument the model ignores, calibration that made things worse) must say so where the result
is read: in the notebook (a :class:`~lightsaber.exceptions.LightsaberWarning`), on the returned
``Run`` (``run.warnings``) and in the tracking store (tags ``lightsaber.warning.<kind>``, and
``lightsaber.skipped_metrics`` with every skipped metric and its reason).
"""

from __future__ import annotations

import json
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any

from lightsaber.tracking import tags as tag_names

__all__ = ["RunWarnings", "SKIPPED_TAG", "WARNING_TAG"]

#: Tag prefix of the warnings of a run: ``lightsaber.warning.<kind>``.
WARNING_TAG = tag_names.WARNING_PREFIX
#: Tag holding ``{split: {metric: reason}}`` of the default metrics left out.
SKIPPED_TAG = tag_names.SKIPPED_METRICS
#: Longest tag value written (MLflow accepts 8,000 characters; leave room).
MAX_TAG = tag_names.MAX_TAG


def _user_stacklevel() -> int:
    """``stacklevel`` that points a warning at the first frame outside lightsaber."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("lightsaber"):
        frame, level = frame.f_back, level + 1
    return level


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TAG else text[:MAX_TAG - 3] + "..."


@dataclass
class RunWarnings:
    """Collects the warnings of one fit; each is issued once and recorded.

    Examples
    --------
    >>> from lightsaber.exceptions import SmallSplitWarning
    >>> notes = RunWarnings()
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     notes.warn("small_split", "the test split has 3 events", SmallSplitWarning)
    >>> [type(w.message).__name__ for w in caught], notes.tags()
    (['SmallSplitWarning'], {'lightsaber.warning.small_split': 'the test split has 3 events'})
    """

    records: list[tuple[str, str]] = field(default_factory=list)
    skipped: dict[str, dict[str, str]] = field(default_factory=dict)

    def warn(self, kind: str, message: str, category: type[Warning]) -> None:
        """Issue ``message`` as ``category`` (once per kind and text) and record it."""
        if (kind, message) in self.records:
            return
        self.records.append((kind, message))
        warnings.warn(message, category, stacklevel=_user_stacklevel())

    def skip(self, split: str, skipped: dict[str, str]) -> None:
        """Record (and warn about) default metrics of ``split`` that were left out."""
        from lightsaber.exceptions import MetricSkippedWarning

        if not skipped:
            return
        self.skipped.setdefault(split, {}).update(skipped)
        for name, reason in skipped.items():
            label = "every metric" if name == "*" else f"metric '{name}'"
            self.warn("skipped_metric", f"{label} was not computed on the {split} split: "
                      f"{reason}", MetricSkippedWarning)

    @property
    def messages(self) -> list[str]:
        """The warning texts, in the order they were issued."""
        return [message for _, message in self.records]

    def tags(self) -> dict[str, str]:
        """MLflow tags: one per warning kind (texts joined by `` | ``) and the skipped metrics."""
        grouped: dict[str, list[str]] = {}
        for kind, message in self.records:
            if kind != "skipped_metric":
                grouped.setdefault(kind, []).append(message)
        out: dict[str, Any] = {f"{WARNING_TAG}{kind}": _cut(" | ".join(messages))
                               for kind, messages in grouped.items()}
        if self.skipped:
            out[SKIPPED_TAG] = _cut(json.dumps(self.skipped, sort_keys=True))
        return out
