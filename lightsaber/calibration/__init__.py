"""Post-hoc calibration of classifiers and survival models, applied by ``ls.fit``.

* :class:`ProbabilityCalibrator` — Platt (``"sigmoid"``), ``"isotonic"``, ``"temperature"``
  and ``"beta"`` calibration of a fitted classifier's scores (scikit-learn's
  ``CalibratedClassifierCV`` over a ``FrozenEstimator`` where it applies);
* :class:`SurvivalRecalibrator` — recalibration of survival curves at horizons
  (``"cloglog"`` or ``"isotonic"``), monotone in time;
* :func:`assess_survival_calibration` — Kaplan-Meier by risk group, ICI and D-calibration;
* before/after figures in :mod:`lightsaber.calibration.plots`.

``ls.fit(model, cohort, splits, calibrate="isotonic")`` fits the calibrator on the
``calibration`` split (else ``val``, never ``test``), puts it in the returned and logged
pipeline, and records calibrated and ``uncalibrated_*`` metrics; see ``docs/calibration.md``.

Examples
--------
>>> import numpy as np
>>> from lightsaber.calibration import ProbabilityCalibrator
>>> rng = np.random.default_rng(0)
>>> z = rng.normal(size=1000)
>>> y = (rng.random(1000) < 1 / (1 + np.exp(-z))).astype(int)
>>> cal = ProbabilityCalibrator("sigmoid").fit_scores(4 * z, y)
>>> cal.predict_proba_scores(np.array([4.0]))[:, 1].round(2).tolist()
[0.7]
"""

from lightsaber.calibration.apply import (
    UNCALIBRATED_PREFIX,
    CalibrationReport,
    calibrate_fitted,
    out_of_fold,
    resolve_calibrator,
)
from lightsaber.calibration.assessment import (
    SurvivalCalibrationAssessment,
    assess_survival_calibration,
)
from lightsaber.calibration.classifier import CLASSIFIER_METHODS, ProbabilityCalibrator
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
    "SURVIVAL_METHODS",
    "UNCALIBRATED_PREFIX",
    "CalibrationError",
    "CalibrationReport",
    "ProbabilityCalibrator",
    "SurvivalCalibrationAssessment",
    "SurvivalRecalibrator",
    "assess_survival_calibration",
    "calibrate_fitted",
    "horizon_outcomes",
    "model_scores",
    "model_survival",
    "out_of_fold",
    "resolve_calibrator",
]
