"""Post-hoc calibration of classifiers and survival models, applied by ``ls.fit``.

* :class:`ProbabilityCalibrator` — Platt (``"sigmoid"``), ``"isotonic"``, ``"temperature"``
  and ``"beta"`` calibration of a fitted classifier's scores (scikit-learn's
  ``CalibratedClassifierCV`` over a ``FrozenEstimator`` where it applies);
* :class:`SurvivalRecalibrator` — recalibration of survival curves at horizons
  (``"cloglog"`` or ``"isotonic"``), monotone in time;
* :class:`CompetingRecalibrator` — recalibration of each cause's cumulative incidence at
  horizons (``"cloglog"`` or ``"isotonic"``), non-decreasing in time and summing to at most 1
  over causes;
* :func:`assess_survival_calibration` — Kaplan-Meier by risk group, ICI and D-calibration;
  :func:`assess_competing_calibration` — Aalen-Johansen by risk group, per cause;
* :func:`calibrate_fitted` — what ``ls.fit`` runs: fit on held-out rows, re-score every split,
  and return a :class:`CalibrationResult`.

The calibrators are scikit-learn estimators fitted on a model's **predictions** and the
outcome, ``fit(X, y)`` with ``X`` the predictions: ``ProbabilityCalibrator().fit(scores, y)``
(``scores`` = :func:`model_scores`) and ``SurvivalRecalibrator().fit(survival, y, times=...)``
(``survival`` = :func:`model_survival` on ``times``), ``CompetingRecalibrator().fit(cif, y)``
(``cif`` a :class:`~lightsaber.metrics.CompetingPrediction`). They clone, pickle and take
``get_params`` / ``set_params`` as any scikit-learn estimator.

``ls.fit(model, cohort, splits, calibrate="isotonic")`` fits the calibrator on the
``calibration`` split (else ``val``, never ``test``), puts it in the returned and logged
pipeline, and records calibrated and ``uncalibrated_*`` metrics; see ``docs/calibration.md``.
The before/after figures are in :mod:`lightsaber.metrics.plots`.

Examples
--------
>>> import numpy as np
>>> from lightsaber.calibration import ProbabilityCalibrator
>>> rng = np.random.default_rng(0)
>>> z = rng.normal(size=1000)
>>> y = (rng.random(1000) < 1 / (1 + np.exp(-z))).astype(int)
>>> cal = ProbabilityCalibrator("sigmoid").fit(4 * z, y)
>>> cal.predict_proba(np.array([4.0]))[:, 1].round(2).tolist()
[0.7]
"""

from lightsaber.calibration.apply import (
    UNCALIBRATED_PREFIX,
    CalibrationReport,
    CalibrationResult,
    calibrate_fitted,
    out_of_fold,
    resolve_calibrator,
)
from lightsaber.calibration.assessment import (
    SurvivalCalibrationAssessment,
    assess_survival_calibration,
)
from lightsaber.calibration.classifier import CLASSIFIER_METHODS, ProbabilityCalibrator
from lightsaber.calibration.competing import (
    COMPETING_METHODS,
    CompetingRecalibrator,
    assess_competing_calibration,
)
from lightsaber.calibration.horizon import horizon_outcomes
from lightsaber.calibration.scores import model_scores
from lightsaber.calibration.survival import (
    SURVIVAL_METHODS,
    SurvivalRecalibrator,
    model_survival,
)
from lightsaber.exceptions import CalibrationError

__all__ = [
    "CLASSIFIER_METHODS",
    "COMPETING_METHODS",
    "CalibrationError",
    "CalibrationReport",
    "CalibrationResult",
    "CompetingRecalibrator",
    "ProbabilityCalibrator",
    "SURVIVAL_METHODS",
    "SurvivalCalibrationAssessment",
    "SurvivalRecalibrator",
    "UNCALIBRATED_PREFIX",
    "assess_competing_calibration",
    "assess_survival_calibration",
    "calibrate_fitted",
    "horizon_outcomes",
    "model_scores",
    "model_survival",
    "out_of_fold",
    "resolve_calibrator",
]
