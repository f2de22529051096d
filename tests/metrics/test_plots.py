"""Plots return matplotlib figures and draw on a given Axes (Agg backend, see tests/conftest)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from lightsaber.metrics import cumulative_dynamic_auc
from lightsaber.metrics.plots import (
    plot_calibration_at_horizons,
    plot_precision_recall,
    plot_reliability,
    plot_roc,
    plot_time_dependent_auc,
)


def _binary():
    rng = np.random.default_rng(0)
    y = (rng.random(200) < 0.3).astype(int)
    return y, np.clip(0.3 + 0.4 * (y - 0.3) + rng.normal(0, 0.2, 200), 0, 1)


def _survival():
    rng = np.random.default_rng(1)
    x = rng.normal(size=300)
    t = rng.exponential(np.exp(-x))
    c = rng.exponential(2, 300)
    grid = np.linspace(0.01, 2, 50)
    return (t <= c, np.minimum(t, c)), x, grid, np.exp(-np.outer(np.exp(x), grid))


def test_classification_plots_return_figures(tmp_path):
    y, p = _binary()
    for fig in (plot_roc(y, p), plot_precision_recall(y, p), plot_reliability(y, p)):
        assert isinstance(fig, Figure) and len(fig.axes) == 1
        assert fig.axes[0].get_legend() is not None
        fig.savefig(tmp_path / "plot.png")
    assert (tmp_path / "plot.png").stat().st_size > 0


def test_plots_draw_on_a_given_axes():
    y, p = _binary()
    fig = Figure()
    ax_roc, ax_pr = fig.subplots(1, 2)
    assert plot_roc(y, p, ax=ax_roc, label="a") is fig
    assert plot_roc(y, 1 - p, ax=ax_roc, label="b") is fig
    assert plot_precision_recall(y, p, ax=ax_pr) is fig
    assert len(ax_roc.get_lines()) == 4  # two curves, two chance lines


def test_survival_plots_return_figures():
    y, x, grid, surv = _survival()
    times = np.quantile(y[1][y[0]], [0.2, 0.4, 0.6, 0.8])
    res = cumulative_dynamic_auc(y, x, times, y_train=y)
    fig = plot_time_dependent_auc(res)
    line = fig.axes[0].get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), res.auc)
    fig = plot_calibration_at_horizons(y, surv, grid, [0.25, 0.5, 1.0], n_groups=5)
    curves = fig.axes[0].get_lines()[1:]  # after the diagonal
    assert len(curves) == 3 and all(len(c.get_xdata()) == 5 for c in curves)


def test_cumulative_incidence_stacks_aalen_johansen_or_predicted_curves():
    import pytest

    from lightsaber.exceptions import MetricError
    from lightsaber.metrics import cumulative_incidence
    from lightsaber.metrics.plots import plot_cumulative_incidence

    rng = np.random.default_rng(2)
    y = (rng.choice([0, 1, 2], 200, p=[0.3, 0.3, 0.4]), rng.exponential(1.0, 200))
    times = np.linspace(0.0, 2.0, 30)
    fig = plot_cumulative_incidence(y, times, causes={1: "death", 2: "discharge"})
    bands = fig.axes[0].collections
    assert len(bands) == 2 and isinstance(fig, Figure)
    top = bands[1].get_paths()[0].vertices[:, 1].max()  # the stack reaches AJ(1) + AJ(2)
    expected = (cumulative_incidence(y, times, cause=1)
                + cumulative_incidence(y, times, cause=2)).max()
    assert top == pytest.approx(expected)
    predicted = {1: np.full((5, 30), 0.2), 2: np.full((5, 30), 0.3)}
    fig = plot_cumulative_incidence(y, times, causes=[1, 2], cif=predicted)
    assert fig.axes[0].get_title().startswith("Mean predicted")
    with pytest.raises(MetricError, match=r"no curves for cause\(s\) \[2\]"):
        plot_cumulative_incidence(y, times, causes=[1, 2], cif={1: predicted[1]})
