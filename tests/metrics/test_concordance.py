"""Harrell's, Uno's and Antolini's C against their references.

References (versions in the venv): scikit-survival 0.28 ``concordance_index_censored`` /
``concordance_index_ipcw``; pycox 0.3 ``EvalSurv(...).concordance_td('antolini')``; R values
from the torchsurv fixtures ``benchmark_cindex.json`` (``survival::concordance`` 3.x for
Harrell, ``survC1::Est.Cval(tau = max event time)`` for Uno; JSON rounded to 4 decimals).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pycox.evaluation import EvalSurv
from sksurv.metrics import concordance_index_censored, concordance_index_ipcw
from sksurv.util import Surv

from lightsaber.exceptions import TargetError
from lightsaber.metrics import (
    MetricError,
    antolini_c,
    concordance_summary,
    harrell_c,
    uno_c,
)
from tests.conftest import shared_file

SEEDS = range(12)


def _sksurv_tuple(event, time, risk):
    c, con, dis, tr, tt = concordance_index_censored(event, time, risk)
    return float(c), int(con), int(dis), int(tr), int(tt)


def _ours_tuple(event, time, risk):
    r = concordance_summary((event, time), risk)
    return r.cindex, r.concordant, r.discordant, r.tied_risk, r.tied_time


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("time_ties", [True, False])
@pytest.mark.parametrize("risk_ties", [True, False])
@pytest.mark.parametrize("censored_tail", [True, False])
def test_harrell_equals_sksurv_exactly(helpers, seed, time_ties, risk_ties, censored_tail):
    event, time, risk = helpers.simulate(seed, n=60 + 10 * seed, time_ties=time_ties,
                                         risk_ties=risk_ties, censored_tail=censored_tail)
    assert _ours_tuple(event, time, risk) == _sksurv_tuple(event, time, risk)


def test_harrell_tie_tolerance_edge_cases_equal_sksurv():
    # risks exactly 1e-8 apart, chains of near-ties and exact ties: scikit-survival's
    # |a - b| <= 1e-8 predicate must be reproduced bit for bit
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(2, 40))
        base = rng.integers(0, 4, n) * 1e-8 + rng.integers(0, 2, n) * 0.5
        time = rng.integers(0, 6, n).astype(float)
        event = rng.random(n) < 0.6
        if not event.any():
            event[0] = True
        try:
            ref = _sksurv_tuple(event, time, base)
        except Exception:  # noqa: BLE001 - sksurv: no comparable pair
            with pytest.raises(MetricError):
                concordance_summary((event, time), base)
            continue
        if np.isnan(ref[0]):  # sksurv divides 0 by 0 (with a warning) where we raise
            continue
        assert _ours_tuple(event, time, base) == ref


@pytest.mark.parametrize("name", ["whas_train_test.h5", "support_train_test.h5",
                                  "metabric_IHC4_clinical_train_test.h5",
                                  "gbsg_cancer_train_test.h5"])
def test_concordance_on_deepsurv_data(deepsurv, helpers, name):
    data = deepsurv(name)
    e_tr, t_tr, x_tr = data["train"]
    e, t, x = data["test"]
    risk = helpers.linear_risk(x_tr, x)
    # Harrell: exact, including the count of tied-time pairs
    assert _ours_tuple(e, t, risk) == _sksurv_tuple(e, t, risk)
    # Harrell on the (larger) train split too, with the coarsely rounded score (risk ties)
    r_tr = np.round(helpers.linear_risk(x_tr, x_tr), 1)
    assert _ours_tuple(e_tr, t_tr, r_tr) == _sksurv_tuple(e_tr, t_tr, r_tr)
    # Uno with the censoring distribution of the train split, several tau
    y_tr, y = Surv.from_arrays(e_tr, t_tr), Surv.from_arrays(e, t)
    for q in (0.25, 0.5, 0.75):
        tau = float(np.quantile(t_tr, q))
        ref = concordance_index_ipcw(y_tr, y, risk, tau=tau)[0]
        assert uno_c(y, risk, y_train=y_tr, tau=tau) == pytest.approx(ref, abs=1e-9)
    # Antolini on PH curves KM(t) ** exp(risk), grid = train event times
    grid = np.unique(t_tr[e_tr])
    surv = helpers.km_power_survival(e_tr, t_tr, risk, grid)
    ref = EvalSurv(pd.DataFrame(surv.T, index=grid), t, e.astype(int)).concordance_td("antolini")
    assert antolini_c(y, surv, grid) == pytest.approx(ref, abs=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_uno_equals_sksurv(helpers, seed):
    event, time, risk = helpers.simulate(seed, n=120, censored_tail=seed % 2 == 0)
    e_tr, t_tr, _ = helpers.simulate(seed + 100, n=200)
    y, y_tr = Surv.from_arrays(event, time), Surv.from_arrays(e_tr, t_tr)
    taus = [None, float(np.quantile(time, 0.5)), float(time[event].max()),
            float(np.unique(time[event])[1])]  # tau just above the first event time
    for tau in taus:
        for train in (y, y_tr):
            try:
                ref = concordance_index_ipcw(train, y, risk, tau=tau)[0]
            except ValueError:  # G undefined or zero: we raise a MetricError instead
                with pytest.raises(MetricError):
                    uno_c(y, risk, y_train=train, tau=tau)
                continue
            if np.isnan(ref):  # no comparable pair below tau: sksurv returns 0/0
                with pytest.raises(MetricError, match="no comparable pairs"):
                    uno_c(y, risk, y_train=train, tau=tau)
                continue
            assert uno_c(y, risk, y_train=train, tau=tau) == pytest.approx(ref, abs=1e-9)


def test_uno_tau_at_first_event_has_no_pairs(helpers):
    event, time, risk = helpers.simulate(3, n=50)
    with pytest.raises(MetricError, match="no comparable pairs .* before tau"):
        uno_c((event, time), risk, y_train=(event, time), tau=float(time[event].min()))


@pytest.mark.parametrize("seed", SEEDS)
def test_antolini_equals_pycox(helpers, seed):
    rng = np.random.default_rng(seed)
    event, time, risk = helpers.simulate(seed, n=80, censored_tail=seed % 3 == 0)
    grids = [
        np.unique(time),  # every observed time
        np.quantile(time, [0.2, 0.4, 0.6]),  # coarse grid starting after many times (clip)
        np.r_[0.0, np.unique(time[event])],
    ]
    for grid in grids:
        grid = np.unique(grid)
        surv = np.sort(rng.integers(0, 5, (time.shape[0], grid.shape[0])) / 4, axis=1)[:, ::-1]
        ref = EvalSurv(pd.DataFrame(surv.T, index=grid), time, event.astype(int)
                       ).concordance_td("antolini")
        assert antolini_c((event, time), surv, grid) == pytest.approx(ref, abs=1e-9)


def test_antolini_dominance_path_equals_pycox():
    # many events reading the same grid column switch to the O(n log n) count
    rng = np.random.default_rng(5)
    n = 3000
    time = rng.exponential(size=n).round(2)
    event = rng.random(n) < 0.6
    grid = np.quantile(time, np.linspace(0, 1, 8))
    surv = np.exp(-np.outer(np.exp(rng.normal(size=n)), grid)).round(3)
    ref = EvalSurv(pd.DataFrame(surv.T, index=grid), time, event.astype(int)
                   ).concordance_td("antolini")
    assert antolini_c((event, time), surv, grid) == pytest.approx(ref, abs=1e-9)


def _r_cases():
    path = shared_file("reference", "r_fixtures", "benchmark_cindex.json")
    return json.loads(path.read_text())


def test_harrell_matches_r_survival_concordance():
    # survival::concordance(coxph fit, newdata = TE)$concordance; ties in time and risk counted
    # as scikit-survival does, so the 4-decimal rounding is the only difference
    for case in _r_cases():
        e = np.asarray(case["test_status"], bool)
        t = np.asarray(case["test_time"], float)
        ours = harrell_c((e, t), np.asarray(case["estimate"], float))
        assert ours == pytest.approx(case["c_Harrell_survival"][0], abs=5e-5 + 1e-12)


def test_uno_close_to_r_survc1():
    # survC1::Est.Cval(cbind(time, status, lp), tau = max event time < max time, nofit = TRUE)
    # estimates G on the test data itself (our y_train = y) but weights by G(T_i-) and drops
    # event/censoring time ties; the definitions differ by up to ~1.2e-3 on these data
    # (R packages disagree on Uno's C beyond ~2 decimals; we implement scikit-survival's).
    for case in _r_cases():
        e = np.asarray(case["test_status"], bool)
        t = np.asarray(case["test_time"], float)
        tau = max(case["times"])
        ours = uno_c((e, t), np.asarray(case["estimate"], float), y_train=(e, t), tau=tau)
        assert ours == pytest.approx(case["c_Uno_survC1"][0], abs=1.5e-3)


def test_harrell_equals_lifelines_at_scale():
    # the O(n log n) path at a size where sksurv's O(n^2) loop takes seconds, against lifelines
    # 0.30 ``utils.concordance_index`` (also O(n log n)). lifelines counts a risk tie only on
    # exact equality, so compare with ``tied_tol=0``: this sample has one pair of risks 9.6e-9
    # apart, tied under scikit-survival's default 1e-8 (and then the values differ by 4e-9).
    lifelines_utils = pytest.importorskip("lifelines.utils")
    rng = np.random.default_rng(1)
    n = 20_000
    x = rng.normal(size=n)
    time = rng.exponential(np.exp(-x))
    event = rng.random(n) < 0.6
    risk = x + rng.normal(size=n)
    # lifelines takes predicted survival times: pass -risk (no ties here, conventions agree)
    ref = lifelines_utils.concordance_index(time, -risk, event)
    assert harrell_c((event, time), risk, tied_tol=0) == pytest.approx(ref, abs=1e-12)
    assert harrell_c((event, time), risk) != harrell_c((event, time), risk, tied_tol=0)


# --- bad input ------------------------------------------------------------------------------


def test_mismatched_lengths():
    with pytest.raises(MetricError, match="risk has 2 rows but the outcome has 3"):
        harrell_c(([1, 0, 1], [1.0, 2.0, 3.0]), [0.1, 0.2])
    with pytest.raises(TargetError, match="3 rows but duration"):
        harrell_c(([1, 0, 1], [1.0, 2.0]), [0.1, 0.2, 0.3])


def test_nan_risk_is_rejected_with_positions():
    with pytest.raises(MetricError, match=r"risk has 1 NaN or infinite value\(s\) \(rows 1\)"):
        harrell_c(([1, 0, 1], [1.0, 2.0, 3.0]), [0.1, np.nan, 0.3])
    with pytest.raises(MetricError, match="NaN or infinite"):
        uno_c(([1, 0, 1], [1.0, 2.0, 3.0]), [0.1, np.inf, 0.3], y_train=([1, 1], [1.0, 2.0]))


def test_no_comparable_pairs():
    # all censored
    with pytest.raises(MetricError, match="no comparable pairs among 3 samples with 0 event"):
        harrell_c(([0, 0, 0], [1.0, 2.0, 3.0]), [0.1, 0.2, 0.3])
    # the only event is the last time: nobody after it
    with pytest.raises(MetricError, match="no comparable pairs"):
        harrell_c(([0, 0, 1], [1.0, 2.0, 3.0]), [0.1, 0.2, 0.3])
    # two events at the same time are not comparable
    with pytest.raises(MetricError, match="no comparable pairs"):
        antolini_c(([1, 1], [2.0, 2.0]), [[0.5], [0.4]], [1.0])


def test_uno_time_beyond_training_follow_up():
    y_train = ([1, 0, 1], [1.0, 2.0, 3.0])  # G > 0 after 3, undefined beyond
    with pytest.raises(MetricError, match="undefined after the last observed time 3"):
        uno_c(([1, 1, 0], [1.0, 5.0, 6.0]), [3.0, 2.0, 1.0], y_train=y_train)
    # truncating at tau inside the training follow-up fixes it
    assert uno_c(([1, 1, 0], [1.0, 5.0, 6.0]), [3.0, 2.0, 1.0], y_train=y_train, tau=2.5) == 1.0


def test_bad_tie_tolerance_and_tau():
    with pytest.raises(MetricError, match="tied_tol"):
        harrell_c(([1, 0], [1.0, 2.0]), [0.1, 0.2], tied_tol=-1)
    with pytest.raises(MetricError, match="tau must be a finite time"):
        uno_c(([1, 0], [1.0, 2.0]), [0.1, 0.2], y_train=([1, 0], [1.0, 2.0]), tau=np.nan)


def test_antolini_shape_errors():
    with pytest.raises(MetricError, match=r"shape \(n_samples, n_times\) = \(2, 2\)"):
        antolini_c(([1, 0], [1.0, 2.0]), [[0.5, 0.4, 0.3]] * 2, [1.0, 2.0])
    with pytest.raises(MetricError, match="strictly increasing"):
        antolini_c(([1, 0], [1.0, 2.0]), [[0.5, 0.4]] * 2, [2.0, 1.0])
