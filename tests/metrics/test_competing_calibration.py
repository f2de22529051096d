"""``cif_calibration_at_horizon``: predicted vs Aalen-Johansen observed CIF by risk group.

* Perfectly calibrated synthetic CIFs (constant cause-specific hazards, the true CIF as the
  prediction, n = 20,000) agree with the observed ones within sampling error, and a 20 %
  over-prediction does not (the bound is meaningful);
* on the melanoma and PBC2 fixtures (R's cause-specific Cox CIFs of their test rows, see
  ``tests/metrics/test_competing.py``), each group's observed CIF equals an independent
  computation: scikit-survival 0.28's ``cumulative_incidence_competing_risks`` on the group's
  rows (or its ``kaplan_meier_estimator`` where the group has no competing event, which that
  function cannot take), to 1e-12;
* undefined cases raise a MetricError that names the argument; the plots draw.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from lightsaber.exceptions import MetricError
from lightsaber.metrics.competing import cumulative_incidence
from lightsaber.metrics.competing_calibration import cif_at_times, cif_calibration_at_horizon
from lightsaber.metrics.plots import plot_cif_calibration, plot_cif_calibration_before_after
from tests.conftest import shared_file

CENSORING_MEAN = 3.0


def _simulate(n: int, seed: int = 0):
    """Two causes with hazards ``0.5 exp(0.8 x)`` and ``0.4 exp(-0.5 x)``, exponential censoring.

    The true cause-k CIF is ``l_k / (l_1 + l_2) * (1 - exp(-(l_1 + l_2) t))``.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    rates = {1: 0.5 * np.exp(0.8 * x), 2: 0.4 * np.exp(-0.5 * x)}
    total = rates[1] + rates[2]
    t = rng.exponential(1 / total)
    cause = np.where(rng.random(n) < rates[1] / total, 1, 2)
    c = rng.exponential(CENSORING_MEAN, n)
    y = (np.where(t <= c, cause, 0), np.minimum(t, c))

    def true_cif(k: int, h: float) -> np.ndarray:
        return rates[k] / total * -np.expm1(-total * h)

    return y, true_cif


@pytest.fixture(scope="module")
def simulated():
    return _simulate(20_000)


def _z(cal, horizon):
    """|observed - predicted| per group over an approximate standard error.

    Binomial ``sqrt(F (1 - F) / n_g)``, inflated by ``1 / G(h)`` in variance for censoring
    (``G(h) = exp(-h / 3)``, the censoring survival of the simulation).
    """
    g = np.exp(-horizon / CENSORING_MEAN)
    se = np.sqrt(cal.observed_cif * (1 - cal.observed_cif) / cal.n / g)
    return np.absolute(cal.observed_cif - cal.predicted_cif) / se


@pytest.mark.parametrize("cause", [1, 2])
@pytest.mark.parametrize("horizon", [0.5, 1.0, 2.0])
def test_perfectly_calibrated_cifs_match_aalen_johansen_within_sampling_error(simulated, cause,
                                                                              horizon):
    # Measured over 20 seeds x 2 causes x 3 horizons: the largest z 3.13, the largest weighted
    # mean absolute error 0.0147; a 20 % over-prediction gives z >= 7.4 and MAE >= 0.033.
    y, true_cif = simulated
    cal = cif_calibration_at_horizon(y, true_cif(cause, horizon), horizon, cause=cause)
    assert cal.n.tolist() == [2000] * 10
    assert np.all(np.diff(cal.predicted_cif) >= 0)
    assert _z(cal, horizon).max() < 4.0
    assert cal.mean_abs_error < 0.02
    assert cal.predicted_overall == pytest.approx(cal.observed_overall, abs=0.01)
    over = cif_calibration_at_horizon(y, np.minimum(1.2 * true_cif(cause, horizon), 1.0),
                                      horizon, cause=cause)
    assert _z(over, horizon).max() > 4.0 and over.mean_abs_error > 0.02


def test_summary_statistics_are_what_the_groups_give(simulated):
    y, true_cif = simulated
    cal = cif_calibration_at_horizon(y, true_cif(1, 1.0), 1.0, cause=1, n_groups=7)
    gap = np.absolute(cal.observed_cif - cal.predicted_cif)
    assert cal.mean_abs_error == pytest.approx(np.sum(cal.n * gap) / 20_000, rel=1e-12)
    assert cal.max_abs_error == gap.max()
    assert cal.predicted_overall == pytest.approx(true_cif(1, 1.0).mean(), rel=1e-12)
    assert cal.observed_overall == cumulative_incidence(y, [1.0], cause=1)[0]
    status, time = y
    assert cal.n_events.sum() == np.sum((status == 1) & (time <= 1.0))
    assert cal.n_competing.sum() == np.sum((status == 2) & (time <= 1.0))
    summary = cal.summary()
    json.dumps(summary)  # JSON-ready, aggregates only
    assert len(summary["observed_cif"]) == 7 and summary["cause"] == 1


def _reference_aj(status, time, cause, at):
    """The group's AJ CIF of ``cause`` at ``at`` by scikit-survival (independent code)."""
    from sksurv.nonparametric import cumulative_incidence_competing_risks, kaplan_meier_estimator

    if not (status == cause).any():
        return 0.0
    if not ((status > 0) & (status != cause)).any():  # sksurv needs every code 1..K present
        times, survival = kaplan_meier_estimator(status == cause, time)
        i = np.searchsorted(times, at, side="right") - 1
        return float(1.0 - survival[i]) if i >= 0 else 0.0
    codes = np.where(status == cause, 1, np.where(status > 0, 2, 0))
    times, incidence = cumulative_incidence_competing_risks(codes, time)
    i = np.searchsorted(times, at, side="right") - 1
    return float(incidence[1][i]) if i >= 0 else 0.0


@pytest.mark.parametrize("name", ["melanoma", "pbc2"])
def test_group_aalen_johansen_equals_scikit_survival_on_fixtures(name):
    data = json.loads(shared_file("reference", "competing_risks", f"{name}.json").read_text())
    status = np.asarray(data["test"]["status"], dtype=np.int64)
    time = np.asarray(data["test"]["time"], dtype=float)
    checked = 0
    for cause in (1, 2):
        cif = np.asarray(data[f"csc_cif_cause{cause}_test"], dtype=float)
        for j, horizon in enumerate(data["times"]):
            cal = cif_calibration_at_horizon((status, time), cif[:, j], horizon, cause=cause,
                                             n_groups=5)
            groups = np.array_split(np.argsort(cif[:, j], kind="stable"), 5)
            expected = [_reference_aj(status[g], time[g], cause, min(horizon, time[g].max()))
                        for g in groups]
            np.testing.assert_allclose(cal.observed_cif, expected, rtol=0, atol=1e-12)
            np.testing.assert_allclose(cal.predicted_cif, [cif[g, j].mean() for g in groups],
                                       rtol=1e-14)
            assert cal.n_events.tolist() == [int(np.sum((status[g] == cause)
                                                        & (time[g] <= horizon)))
                                             for g in groups]
            checked += int(np.sum(np.asarray(expected) > 0))
    assert checked >= 20  # most groups have events: the comparison is not of zeros


def test_other_causes_are_competing_not_censored():
    # Group of four: cause 1 at 1, cause 2 at 2, cause 1 at 3, censored at 4. Aalen-Johansen at
    # 3.5: 1/4 + (3/4)(2/3)(1/2) = 1/2; 1 - Kaplan-Meier with cause 2 censored would give
    # 1 - (3/4)(1/2) = 5/8.
    y = ([1, 2, 1, 0], [1.0, 2.0, 3.0, 4.0])
    cal = cif_calibration_at_horizon(y, [0.5, 0.5, 0.5, 0.5], 3.5, cause=1, n_groups=1)
    assert cal.observed_cif.tolist() == [0.5]
    assert cal.mean_abs_error == 0.0
    assert cal.n_events.tolist() == [2] and cal.n_competing.tolist() == [1]


def test_group_without_events_of_the_cause_observes_zero():
    y = ([0, 2, 2, 1, 1, 0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    cal = cif_calibration_at_horizon(y, [0.0, 0.1, 0.1, 0.6, 0.7, 0.8], 5.5, cause=1,
                                     n_groups=2)
    assert cal.observed_cif[0] == 0.0  # no cause-1 event: 0, not an error
    assert cal.observed_cif[1] == pytest.approx(2 / 3, rel=1e-15)  # 1/3 + (2/3)(1/2)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"horizon": 6.0}, r"horizon must lie within the follow-up of y, \[1, 6\); got 6.0"),
    ({"horizon": 0.5}, r"horizon must lie within the follow-up"),
    ({"horizon": float("nan")}, r"horizon must lie within the follow-up"),
    ({"horizon": "soon"}, r"horizon must be a finite time; got 'soon'"),
    ({"cause": 3}, r"cause=3 does not occur in y \(causes seen: \[1, 2\]\)"),
    ({"cif": [0.1, 0.2]}, r"cif has 2 rows but the outcome has 6"),
    ({"cif": [0.1, 0.2, 0.3, 0.4, 0.5, 1.5]}, r"cif has 1 value\(s\) outside \[0, 1\]"),
    ({"n_groups": 0}, r"n_groups must be between 1 and the number of patients \(6\); got 0"),
    ({"n_groups": 7}, r"n_groups must be between 1"),
])
def test_undefined_calibration_raises_a_clear_metric_error(kwargs, match):
    args = {"y": ([1, 2, 1, 0, 1, 2], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
            "cif": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], "horizon": 3.0}
    args.update(kwargs)
    with pytest.raises(MetricError, match=match):
        cif_calibration_at_horizon(**args)


def test_cif_at_times_reads_right_continuous_steps_zero_before_the_grid():
    cif = np.array([[0.1, 0.2, 0.4], [0.0, 0.3, 0.3]])
    out = cif_at_times(cif, [1.0, 2.0, 3.0], [0.5, 1.0, 2.5, 3.0, 10.0])
    assert out.tolist() == [[0.0, 0.1, 0.2, 0.4, 0.4], [0.0, 0.0, 0.3, 0.3, 0.3]]
    with pytest.raises(MetricError, match="one column per time"):
        cif_at_times(cif, [1.0, 2.0], [1.0])


def test_plots_draw_one_line_per_horizon_and_a_row_per_cause(simulated):
    y, true_cif = simulated
    grid = np.array([0.5, 1.0, 2.0])
    cif = {k: np.column_stack([true_cif(k, h) for h in grid]) for k in (1, 2)}
    fig = plot_cif_calibration(y, cif[1], grid, [0.5, 2.0], cause=1, name="death")
    ax = fig.axes[0]
    assert len(ax.lines) == 3  # the diagonal and two horizons
    assert ax.get_xlabel() == "Predicted cumulative incidence"
    assert [t.get_text()[:8] for t in ax.get_legend().get_texts()] == ["t = 0.5 ", "t = 2 (M"]
    over = {k: np.minimum(1.3 * v, 1.0) for k, v in cif.items()}
    fig = plot_cif_calibration_before_after(y, over, cif, grid, {1: [1.0], 2: [0.5, 2.0]},
                                            causes={1: "death", 2: "discharge"})
    assert [a.get_title() for a in fig.axes] == [
        "death: uncalibrated", "death: recalibrated", "discharge: uncalibrated",
        "discharge: recalibrated"]
    assert [len(a.lines) for a in fig.axes] == [2, 2, 3, 3]
    with pytest.raises(MetricError, match="horizons must hold at least one time"):
        plot_cif_calibration(y, cif[1], grid, [])
