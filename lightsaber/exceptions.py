"""The project's exception hierarchy.

Every error lightsaber raises on purpose derives from :class:`LightsaberError`. Each specific
error also subclasses the standard exception a scikit-learn or pandas user would catch
(``ValueError``, ``KeyError``, ``TypeError``, ``sklearn.exceptions.NotFittedError``), so existing
``except`` clauses keep working.

Privacy rule for messages: they name columns, counts, dtypes and *row positions*, never patient
identifiers or feature cell values (see ``docs/privacy.md``). Outcome codes (an event value of
``2``, a duration of ``-3``) are shown because they identify no one.
"""

from __future__ import annotations

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

__all__ = [
    "CalibrationWarning",
    "CohortError",
    "DuplicateIdError",
    "EmptyCohortError",
    "EvaluationError",
    "IdMismatchError",
    "IgnoredArgumentWarning",
    "LightsaberError",
    "LightsaberWarning",
    "LongitudinalOrderError",
    "MetricSkippedWarning",
    "MissingColumnError",
    "NonNumericColumnError",
    "NotFittedError",
    "SmallSplitWarning",
    "SplitError",
    "TargetError",
]


class LightsaberError(Exception):
    """Base class of every error lightsaber raises deliberately."""


class CohortError(LightsaberError, ValueError):
    """A cohort table does not have the declared shape or content."""


class MissingColumnError(CohortError, KeyError):
    """A declared column is not in the table.

    Also a ``KeyError``; ``str()`` gives the plain message rather than ``KeyError``'s quoted repr.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class DuplicateIdError(CohortError):
    """An identifier occurs more than once in a table that needs one row per patient."""


class IdMismatchError(CohortError):
    """Feature and target tables do not hold the same patients."""


class TargetError(CohortError):
    """An outcome (label, or duration + event) is unusable."""


class NonNumericColumnError(CohortError, TypeError):
    """A feature column is not numeric and was not declared categorical."""


class LongitudinalOrderError(CohortError):
    """A long-format table has duplicate or out-of-order ``(id, time)`` rows."""


class EmptyCohortError(CohortError):
    """No patients are left (empty input, or after filtering)."""


class SplitError(LightsaberError, ValueError):
    """A split specification cannot be satisfied."""


class NotFittedError(LightsaberError, _SklearnNotFittedError):
    """A transformer or model was used before ``fit``."""


class EvaluationError(LightsaberError, ValueError):
    """A fitted model could not be evaluated: no metric at all could be computed on a split."""


class LightsaberWarning(UserWarning):
    """Base class of every warning lightsaber issues.

    ``ls.fit`` also records each one as an MLflow tag of the run (``lightsaber.warning.<kind>``)
    and in ``Run.warnings``, so a result that deserves a second look says so where it is stored.
    """


class MetricSkippedWarning(LightsaberWarning):
    """A default metric could not be computed on a split and was left out (reason given)."""


class SmallSplitWarning(LightsaberWarning):
    """A split has fewer events / positives than metrics need to be stable (default 10)."""


class IgnoredArgumentWarning(LightsaberWarning):
    """An argument has no effect on this model (e.g. ``early_stopping`` for a model without it)."""


class CalibrationWarning(LightsaberWarning):
    """Post-hoc calibration made the validation metric it targets worse."""
