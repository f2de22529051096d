"""The metrics layer's error type.

:class:`MetricError` is raised when a metric cannot be computed from the inputs it was given:
mismatched lengths, non-finite predictions, a time grid outside the follow-up, no comparable
pairs, a single-class label, an unknown metric name. It is also a ``ValueError`` so that code
written against scikit-learn or scikit-survival (which raise ``ValueError``) keeps working.

Messages name the argument, the value seen and what was expected. Like every lightsaber error
they never contain patient identifiers or raw feature rows; they may contain counts, row
*positions* and summary values such as the largest follow-up time.
"""

from __future__ import annotations

from lightsaber.exceptions import LightsaberError

__all__ = ["MetricError"]


class MetricError(LightsaberError, ValueError):
    """A metric cannot be computed from the given inputs.

    Examples
    --------
    >>> issubclass(MetricError, ValueError)
    True
    """
