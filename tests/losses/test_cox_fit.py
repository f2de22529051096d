"""A linear Cox model trained with our Efron loss recovers lifelines' and scikit-survival's fits.

Data: scikit-survival 0.28 ``load_gbsg2()`` (686 rows) and ``load_whas500()`` (500 rows), bundled
with the package; categorical columns one-hot encoded (first level dropped), every column
standardised (the same design matrix goes to all three fitters). References, unpenalised,
Efron ties: lifelines 0.30 ``CoxPHFitter(penalizer=0)`` and scikit-survival
``CoxPHSurvivalAnalysis(alpha=0, ties="efron")`` (Newton-Raphson). Ours: full-batch LBFGS in
float64 on ``cox_ph_loss(..., ties="efron", reduction="sum")`` from zero. Acceptance 1e-3 on
every coefficient; measured max |delta| 3.2e-6 against lifelines (its convergence tolerance:
lifelines and scikit-survival differ from each other by the same) and 6e-9 against
scikit-survival.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from lifelines import CoxPHFitter
from sksurv.datasets import load_gbsg2, load_whas500
from sksurv.linear_model import CoxPHSurvivalAnalysis

from lightsaber.losses import cox_ph_loss
from tests.losses._reference import fit_linear

LOADERS = {"gbsg2": load_gbsg2, "whas500": load_whas500}


def _design(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    x, y = LOADERS[name]()
    encoded = pd.get_dummies(x, drop_first=True, dtype=float).astype(float)
    values = encoded.to_numpy()
    values = (values - values.mean(axis=0)) / values.std(axis=0)
    event_field, time_field = y.dtype.names
    return values, y[time_field].astype(float), y[event_field].astype(bool), list(encoded)


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_linear_cox_recovers_reference_coefficients(name):
    x, time, event, columns = _design(name)
    design = torch.from_numpy(x)
    duration, observed = torch.from_numpy(time), torch.from_numpy(event)
    ours = fit_linear(
        lambda b: cox_ph_loss(design @ b, duration, observed, ties="efron", reduction="sum"),
        x.shape[1]).numpy()

    frame = pd.DataFrame(x, columns=columns).assign(time=time, event=event.astype(int))
    lifelines_beta = CoxPHFitter(penalizer=0.0).fit(frame, "time", "event").params_[columns]
    structured = np.array(list(zip(event, time, strict=True)),
                          dtype=[("event", bool), ("time", float)])
    sksurv_beta = CoxPHSurvivalAnalysis(alpha=0.0, ties="efron").fit(x, structured).coef_

    np.testing.assert_allclose(ours, lifelines_beta.to_numpy(), rtol=0, atol=1e-3)
    np.testing.assert_allclose(ours, sksurv_beta, rtol=0, atol=1e-3)
