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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

__all__ = [
    "ArgumentError",
    "CalibrationError",
    "CalibrationWarning",
    "CheckpointError",
    "CohortError",
    "ConfigError",
    "ConvergenceError",
    "DuplicateIdError",
    "EmptyCohortError",
    "EvaluationError",
    "FitError",
    "IdMismatchError",
    "IgnoredArgumentWarning",
    "InputTypeError",
    "Issue",
    "LandmarkCensoringWarning",
    "LightsaberError",
    "LightsaberWarning",
    "LongitudinalOrderError",
    "LossInputError",
    "MetricError",
    "MetricSkippedWarning",
    "MissingColumnError",
    "MixedSplitsWarning",
    "ModelIntegrityError",
    "NonNumericColumnError",
    "NotFittedError",
    "PredictionError",
    "RegistryError",
    "ReportError",
    "RequestRefused",
    "SchemaMismatchError",
    "SearchSpaceError",
    "SmallSplitWarning",
    "SpaceKeyError",
    "SplitError",
    "TargetError",
    "TrackingError",
    "TrialDiverged",
    "TrialFailed",
    "TuningError",
    "Unavailable",
    "UnknownMetricError",
    "UnscaledInputWarning",
    "UnverifiedModelWarning",
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


class UnscaledInputWarning(LightsaberWarning):
    """A net was given features whose scales differ by more than 100x (standardise them)."""


class LandmarkCensoringWarning(LightsaberWarning):
    """Landmark rows censored inside the horizon were dropped to make a 0/1 label."""


class CalibrationWarning(LightsaberWarning):
    """Post-hoc calibration made the validation metric it targets worse."""


_MISSING = object()


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# --- config ------------------------------------------------------------------------------


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


# --- losses ------------------------------------------------------------------------------


class LossInputError(LightsaberError, ValueError):
    """A loss cannot be computed from the given batch or options.

    Examples
    --------
    >>> issubclass(LossInputError, ValueError)
    True
    """


# --- metrics -----------------------------------------------------------------------------


class MetricError(LightsaberError, ValueError):
    """A metric cannot be computed from the given inputs.

    Examples
    --------
    >>> issubclass(MetricError, ValueError)
    True
    """


# --- models ------------------------------------------------------------------------------


class ArgumentError(LightsaberError, ValueError):
    """An estimator argument has an invalid value (raised before any training).

    Examples
    --------
    >>> import numpy as np
    >>> from sksurv.util import Surv
    >>> from lightsaber.models import DeepSurv
    >>> X, y = np.zeros((4, 1), "float32"), Surv.from_arrays([1, 0, 1, 0], [1.0, 2, 3, 4])
    >>> DeepSurv(lr=-1.0).fit(X, y)
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.ArgumentError: lr must be a positive number; got -1.0.
    """


class ConvergenceError(LightsaberError, ArithmeticError):
    """A model's fit did not converge; no (unreliable) coefficients were returned.

    Also an ``ArithmeticError``. The message names the model and, where one is to blame, the
    feature (e.g. one that separates the events, whose coefficient would be infinite), and the
    fix (drop or merge the feature, standardise, a ridge penalty ``alpha > 0``).

    Examples
    --------
    >>> issubclass(ConvergenceError, ArithmeticError)
    True
    """


class UnknownMetricError(LightsaberError, ValueError):
    """A metric name that cannot be computed on validation outputs for this task."""


class CheckpointError(LightsaberError, OSError):
    """A checkpoint could not be written (disk full, no permission) or read back.

    Also an ``OSError``; the underlying error is chained as ``__cause__``.
    """


# --- calibration -------------------------------------------------------------------------


class CalibrationError(LightsaberError, ValueError):
    """A calibrator was given an unusable argument or data (also a ``ValueError``)."""


# --- tracking ----------------------------------------------------------------------------


class TrackingError(LightsaberError, RuntimeError):
    """MLflow could not be reached, or refused what lightsaber tried to record.

    Also a ``RuntimeError``. The underlying MLflow or database error is chained as
    ``__cause__``. Messages name the tracking URI (credentials removed), the run and the key
    involved, followed by MLflow's own message.
    """


class RegistryError(TrackingError, LookupError):
    """No run or model version matches, or a model URI cannot be resolved.

    Also a ``LookupError`` (and a :class:`~lightsaber.tracking.TrackingError`).
    """


class ModelIntegrityError(TrackingError):
    """A logged model's files differ from the sha256 digests its run recorded when logging it.

    Raised before anything in the model is unpickled. The message names the run (or model
    URI) and the first changed, missing or extra file, never a file's content. See
    ``docs/security.md``.
    """


class UnverifiedModelWarning(LightsaberWarning):
    """A model was loaded without an integrity check (see ``docs/security.md``).

    A local folder, a run logged before digests were recorded, or a registered version whose
    files are not its run's ``model/`` artifact.
    """


class MixedSplitsWarning(LightsaberWarning):
    """``best_run(..., allow_mixed_splits=True)`` compared runs evaluated on different splits."""


# --- serving -----------------------------------------------------------------------------


class PredictionError(LightsaberError, ValueError):
    """A prediction request cannot be served (bad times, unsupported output, bad file type)."""


class SchemaMismatchError(CohortError):
    """New data lack columns the model was trained with, or have them with another type.

    A :class:`~lightsaber.exceptions.CohortError` (and so a ``ValueError``). The message lists
    column names and dtypes only, never values.

    Attributes
    ----------
    missing : list of str
        Required columns absent from the data.
    mistyped : dict of str to (expected, found)
        Columns whose dtype kind differs from training (numeric vs text).
    """

    def __init__(self, missing: list[str] | None = None,
                 mistyped: dict[str, tuple[str, str]] | None = None) -> None:
        self.missing = list(missing or [])
        self.mistyped = dict(mistyped or {})
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The full explanation."""
        lines = ["the data do not match the schema the model was trained with:"]
        if self.missing:
            lines.append(f"  missing column(s) ({len(self.missing)}): "
                         + ", ".join(repr(c) for c in self.missing))
        if self.mistyped:
            lines.append(f"  mistyped column(s) ({len(self.mistyped)}): " + ", ".join(
                f"{c!r} (expected {want}, found {got})"
                for c, (want, got) in self.mistyped.items()))
        lines.append("Add or rename the missing columns and cast the mistyped ones (numeric "
                     "features as numbers, categorical ones as text); no predictions were "
                     "written.")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.message


class RequestRefused(LightsaberError, ValueError):
    """A scoring request was refused before MLflow saw it; the message holds no values."""


# --- training ----------------------------------------------------------------------------


class InputTypeError(LightsaberError, TypeError):
    """An entry point got an argument of the wrong type (also a ``TypeError``)."""


class FitError(LightsaberError, ValueError):
    """``ls.fit`` was called with arguments that cannot work together."""


# --- tuning ------------------------------------------------------------------------------


class SearchSpaceError(LightsaberError, ValueError):
    """A search space (or a baseline configuration) is malformed; the message names the path."""


class TuningError(LightsaberError, ValueError):
    """``tune`` was called with settings that cannot work together, or no trial succeeded."""


class SpaceKeyError(TuningError):
    """A search-space key is not a parameter of the model (raised before any trial runs).

    Attributes
    ----------
    path : str
        Where the key is, e.g. ``space.C_`` or ``space.optimizer.options[1].optimizer__lr``.
    key : str
        The key as written.
    problem, allowed, hint : str
        What is wrong, which names would be accepted, and a did-you-mean suggestion (or
        ``""``); the message joins them.
    """

    def __init__(self, path: str, key: str, problem: str, allowed: str = "",
                 hint: str = "") -> None:
        self.path, self.key, self.problem = path, key, problem
        self.allowed, self.hint = allowed, hint
        text = f"{path}: {problem}"
        if hint:
            text += f" ({hint})"
        if allowed:
            text += f"; valid parameters include {allowed}"
        end = " Fix" if text.endswith((".", "?")) else ". Fix"
        super().__init__(f"{text}{end} the key in the search space.")


class TrialDiverged(LightsaberError, FloatingPointError):
    """A trial produced NaN or infinite losses or predictions."""


class TrialFailed(LightsaberError, RuntimeError):
    """Raised in a Ray worker after a failed trial was recorded, so Ray marks it ERROR."""


# --- reports -----------------------------------------------------------------------------


class ReportError(LightsaberError, ValueError):
    """The report cannot be built (nothing selected, no runs)."""


# --- cli ----------------------------------------------------------------------------------


class Unavailable(LightsaberError):
    """A command whose implementation (an optional extra) is not installed (exit status 2)."""


_RENAMED = {"ConfigurationError": "ArgumentError"}


def __getattr__(name: str) -> Any:
    if name in _RENAMED:  # names before the architecture pass (0.1.0), kept for old code
        import warnings

        new = _RENAMED[name]
        warnings.warn(f"lightsaber.exceptions.{name} is now {new}", DeprecationWarning,
                      stacklevel=2)
        return globals()[new]
    raise AttributeError(f"module 'lightsaber.exceptions' has no attribute {name!r}")
