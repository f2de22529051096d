"""The HTML report of a competing-risks run: per-cause tables, CIF figures, notes on what is
left out, and no patient id.

The end-to-end tests fit ``CauseSpecificCox(alpha=0.1)`` (the sample cohort one-hot encodes
every level, collinear without a penalty) on ``load_sample_mortality(n_patients=300,
competing=True)`` with ls.fit, tracked to a fresh sqlite store, and write the report from it;
the figure tests use hand-made outcomes and predictions (no store).
"""

from __future__ import annotations

import base64
import html
import io
import re
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
from matplotlib.image import imread
from mlflow import MlflowClient

import lightsaber as ls
from lightsaber.data.targets import make_competing_target
from lightsaber.metrics import cumulative_incidence
from lightsaber.reports import sections as report_sections
from lightsaber.reports import write_report
from lightsaber.reports.competing import (
    COMPETING_METRICS,
    NOT_APPLICABLE,
    competing_figures,
    cumulative_incidence_figure,
)
from lightsaber.reports.fetch import ReportData, RunRecord
from lightsaber.reports.html import template_environment
from lightsaber.reports.sections import build_sections
from lightsaber.tracking.predictions import LoggedPredictions
from tests.reports.test_reports import _Outline
from tests.tracking.privacy import scan_tracking_store

EXPERIMENT = "report-competing"
CAUSES = {1: "death", 2: "discharge"}
#: Fewer resamples than the report's 200 keep the module at a few seconds; the code path is
#: the same (the count shown in the report is checked below).
N_BOOTSTRAP = 50


@pytest.fixture(scope="module")
def competing(tmp_path_factory, template_store):
    """A tracked CauseSpecificCox run on the competing sample cohort, and its report."""
    from lightsaber.models import CauseSpecificCox

    root = tmp_path_factory.mktemp("competing-report")
    shutil.copyfile(template_store, root / "mlflow.db")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    cohort = ls.datasets.load_sample_mortality(n_patients=300, competing=True)
    # 75 patients in val and test: at least 10 deaths each (no SmallSplitWarning). Seed 1:
    # with seed 0 a train CIF of CauseSpecificCox rounds to 1.0000000000000002, so
    # ibs_competing is skipped on train with a MetricSkippedWarning (an error here).
    splits = cohort.split(val=0.25, test=0.25, stratify="event", seed=1)
    run = ls.fit(CauseSpecificCox(alpha=0.1), cohort, splits, experiment=EXPERIMENT,
                 tracking_uri=uri, run_name="csc", log_model=False, progress=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(report_sections, "N_BOOTSTRAP", N_BOOTSTRAP)
        path = write_report(root / "out" / "report.html", experiment=EXPERIMENT,
                            tracking_uri=uri)
    logged = MlflowClient(tracking_uri=uri).get_run(run.run_id).data.metrics
    return SimpleNamespace(root=root, uri=uri, run=run, logged=logged,
                           sizes={s: len(splits[s]) for s in ("train", "val", "test")},
                           page=path.read_text(encoding="utf-8"), ids=np.asarray(cohort.ids))


def _rows(fragment: str) -> list[list[str]]:
    """The text of each cell of each body row of the first table in ``fragment``."""
    body = fragment.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [[html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
             for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", body)]


def _interval(text: str) -> tuple[str, float, float]:
    estimate, low, high = re.fullmatch(r"(\S+) \[(\S+), (\S+)\]", text).groups()
    return estimate, float(low), float(high)


@pytest.mark.slow
def test_each_cause_has_a_table_with_the_logged_values_and_test_intervals(competing):
    page, logged = competing.page, competing.logged
    runs = page.split('<section id="runs">', 1)[1]
    for code, cause in CAUSES.items():
        fragment = runs.split(f"<h5>{cause} (cause {code})</h5>", 1)[1]
        header = re.findall(r"<th>(.*?)</th>", fragment.split("</thead>", 1)[0])
        assert header == ["metric", "test", "train", "val", "test resamples used"]
        rows = {row[0].split()[0]: row for row in _rows(fragment)}
        assert list(rows) == list(COMPETING_METRICS)
        for metric, row in rows.items():
            name = f"{metric}_{cause}"
            arrow = "↓" if metric == "ibs_competing" else "↑"
            assert row[0] == f"{metric} {arrow}"
            assert row[2] == f"{logged[f'train_{name}']:.4g}"
            assert row[3] == f"{logged[f'val_{name}']:.4g}"
            estimate, low, high = _interval(row[1])
            assert estimate == f"{logged[f'test_{name}']:.4g}"
            assert low <= logged[f"test_{name}"] <= high
            used, total = re.fullmatch(r"(\d+) of (\d+)", row[4]).groups()
            assert int(total) == N_BOOTSTRAP and 0 < int(used) <= N_BOOTSTRAP
    assert f"({N_BOOTSTRAP} stratified resamples" in runs
    # the run's metrics all sit in the per-cause tables: no flat table repeats them
    assert "<h4>Metrics</h4>" not in runs


@pytest.mark.slow
def test_comparison_has_one_table_per_cause_with_bootstrap_intervals(competing):
    comparison = competing.page.split('<section id="comparison">', 1)[1].split("</section>")[0]
    for code, cause in CAUSES.items():
        fragment = comparison.split(f"<h3>Competing risks: {cause} (cause {code})</h3>", 1)[1]
        header = re.findall(r"<th>(.*?)</th>", fragment.split("</thead>", 1)[0])
        assert header == ["run", "role", "model", f"val wolbers_c_{cause}",
                          f"test cause_specific_auc_{cause} ↑",
                          f"test ibs_competing_{cause} ↓", f"test wolbers_c_{cause} ↑"]
        [row] = _rows(fragment)
        assert row[:3] == ["csc", "run", "CauseSpecificCox"]
        assert row[3] == f"{competing.logged[f'val_wolbers_c_{cause}']:.4g}"
        for cell, metric in zip(row[4:], COMPETING_METRICS, strict=True):
            estimate, low, high = _interval(cell)
            assert estimate == f"{competing.logged[f'test_{metric}_{cause}']:.4g}"
            assert low <= high
    assert "auc_roc" not in comparison  # not the classification headline


@pytest.mark.slow
def test_cif_figure_per_split_and_per_cause_figures_are_embedded(competing):
    page = competing.page
    figures = dict(re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([^"]+)"', page))
    for split, n in competing.sizes.items():
        png = imread(io.BytesIO(base64.b64decode(
            figures[f"Cumulative incidence, {split} split (n={n})"])), format="png")
        assert png.shape[1] > 1.8 * png.shape[0]  # two panels side by side
        assert png[..., :3].std() > 0.05  # not blank
    assert "Cause-specific AUC(t), test split" in figures
    for cause in CAUSES.values():
        assert f"Calibration at horizons: {cause}" in figures
    block = page.split('<div class="cumulative-incidence">', 1)[1].split(
        '<div class="not-shown">')[0]
    assert block.count("<img ") == 3


@pytest.mark.slow
def test_single_event_sections_are_skipped_with_a_visible_reason(competing):
    page = competing.page
    client = MlflowClient(tracking_uri=competing.uri)
    names = {competing.run.run_id: "csc"}
    outline = _Outline(names)
    outline.feed(page)
    run = outline.out[outline.out.index("div#run-csc"):]
    assert run == [
        "div#run-csc", "h3 csc", "div.cause-metrics", "h4 Metrics per cause",
        "div.performance", "h4 Performance (test split)", "div.calibration", "h4 Calibration",
        "div.cumulative-incidence", "h4 Cumulative incidence: observed vs predicted",
        "div.not-shown", "h4 Not shown for this competing-risks run",
        "div.data", "h4 Data summary and split manifest",
        "div.environment", "h4 Configuration and environment"]
    block = html.unescape(page.split('<div class="not-shown">', 1)[1].split("</div>", 1)[0])
    for what, why in NOT_APPLICABLE:
        assert f"<strong>{what}</strong>: {why}" in block
    for single_event in ('alt="Predicted vs Kaplan-Meier survival"', 'alt="Time-dependent AUC"',
                         'alt="Calibration at horizons"', 'class="survival-curves"',
                         "No logged predictions"):
        assert single_event not in page, single_event
    assert client.get_run(competing.run.run_id).data.tags["task"] == "competing"


@pytest.mark.slow
def test_report_and_store_hold_no_patient_id(competing):
    assert not [pid for pid in competing.ids if str(pid) in competing.page]
    assert "ids_sha256" not in competing.page
    assert scan_tracking_store([competing.root], [str(i) for i in competing.ids]) == []


# ------------------------------------------------------------------ figures, no store
def _outcome(n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    t1, t2, c = rng.exponential(np.exp(-x)), rng.exponential(1.0, n), rng.exponential(3.0, n)
    status = np.select([t1 <= np.minimum(t2, c), t2 <= c], [1, 2], 0)
    return x, make_competing_target(status, np.minimum.reduce([t1, t2, c]))


def _cifs(x, grid):
    hazard = {1: np.exp(x), 2: np.ones_like(x)}
    total = sum(hazard.values())
    return {k: np.outer(h / total, np.ones_like(grid)) * (1 - np.exp(-np.outer(total, grid)))
            for k, h in hazard.items()}


def _band_tops(ax):
    """Top of the stacked bands (the last band's upper edge) at its last time."""
    edge = ax.collections[-1].get_paths()[0].vertices
    return edge[edge[:, 0] == edge[:, 0].max(), 1].max()


def test_cumulative_incidence_figure_stacks_aalen_johansen_and_mean_predicted():
    x, y = _outcome()
    grid = np.quantile(y["time"][y["status"] > 0], np.linspace(0.05, 0.8, 20))
    cif = _cifs(x, grid)
    fig = cumulative_incidence_figure(y, cif, grid, CAUSES, title="test split")
    observed, predicted = fig.axes
    assert (observed.get_title(), predicted.get_title()) == (
        "Observed (Aalen-Johansen)", "Mean predicted")
    assert observed.get_xlim() == predicted.get_xlim() == (0.0, grid[-1])
    end = min(grid[-1], y["time"].max())
    expected = sum(cumulative_incidence(y, [end], cause=k)[0] for k in CAUSES)
    assert _band_tops(observed) == pytest.approx(expected, rel=1e-12)
    assert _band_tops(predicted) == pytest.approx(sum(c[:, -1].mean() for c in cif.values()),
                                                  rel=1e-12)
    # each cause keeps its colour in both panels
    colours = [[tuple(c.get_facecolor()[0]) for c in ax.collections] for ax in fig.axes]
    assert colours[0] == colours[1]


def _logged(test_status=None):
    """Hand-made logged predictions of a competing run (train and test)."""
    arrays = {}
    for split, seed in (("train", 0), ("test", 1)):
        x, y = _outcome(seed=seed)
        status = y["status"] if split == "train" or test_status is None else test_status(y)
        grid = np.quantile(_outcome(seed=0)[1]["time"], np.linspace(0.05, 0.7, 15))
        cif = _cifs(x, grid)
        arrays[split] = {"position": np.arange(len(y)), "status": status, "time": y["time"],
                         "times": grid, **{f"cif_{k}": c for k, c in cif.items()},
                         **{f"risk_{k}": c[:, -1] for k, c in cif.items()}}
    return LoggedPredictions(run_id="r" * 32, task="competing", arrays=arrays,
                             times=arrays["train"]["times"].tolist(), causes=dict(CAUSES))


def test_a_cause_without_events_in_the_split_is_left_out_with_a_note():
    def no_discharge(y):
        return np.where(y["status"] == 2, 0, y["status"])  # discharges censored

    drawn = competing_figures(_logged(no_discharge), "test")
    assert [t for t, _ in drawn["calibration"]] == ["Calibration at horizons: death"]
    assert [t for t, _ in drawn["performance"]] == ["Cause-specific AUC(t), test split"]
    legend = [t.get_text() for t in drawn["performance"][0][1].axes[0].get_legend().get_texts()]
    assert len(legend) == 1 and legend[0].startswith("death (mean ")
    notes = dict(drawn["notes"])
    assert "discharge" in notes["AUC(t) of discharge"]
    assert "no discharge event" in notes["Calibration at horizons: discharge"]
    # the observed panel of the test split draws death only; the predicted one both causes
    test_cif = dict(drawn["cumulative_incidence"])["Cumulative incidence, test split (n=120)"]
    assert [len(ax.collections) for ax in test_cif.axes] == [1, 2]


def test_a_model_of_one_cause_draws_that_cause_and_says_why_not_the_other():
    logged = _logged()
    for split in logged.arrays.values():  # as FineGray(cause=1) logs: cause 1 only
        del split["cif_2"], split["risk_2"]
    drawn = competing_figures(logged, "test")
    assert [t for t, _ in drawn["calibration"]] == ["Calibration at horizons: death"]
    notes = dict(drawn["notes"])
    assert "predicts no discharge incidence (cause 2)" in notes["Figures of discharge"]
    train_cif = dict(drawn["cumulative_incidence"])["Cumulative incidence, train split (n=120)"]
    observed, predicted = train_cif.axes
    assert [len(ax.collections) for ax in train_cif.axes] == [2, 1]
    assert tuple(observed.collections[0].get_facecolor()[0]) == tuple(
        predicted.collections[0].get_facecolor()[0])  # death has the same colour


def test_a_competing_run_without_logged_predictions_still_renders_its_tables():
    metrics = {f"{split}_{metric}_{cause}": 0.5 + k / 100
               for k, (split, metric, cause) in enumerate(
                   (s, m, c) for s in ("train", "test") for m in COMPETING_METRICS
                   for c in ("death", "discharge"))}
    metrics["test_uncalibrated_wolbers_c_death"] = 0.4321  # a calibrate= run's raw metric
    run = RunRecord(run_id="e" * 32, name="no-predictions", experiment_id="1",
                    status="FINISHED", start_time=0, params={"model.class": "FineGray"},
                    metrics=metrics, tags={"task": "competing"})
    data = ReportData(uri="sqlite:///x.db", experiments={"1": "exp"}, selected=[run],
                      models=[run], studies=[])
    page = template_environment().get_template("report.html.j2").render(
        title="t", sections=build_sections(data))
    assert "<h5>death</h5>" in page and "<h5>discharge</h5>" in page  # codes unknown
    assert "<h3>Competing risks: death</h3>" in page
    assert f"{metrics['test_wolbers_c_death']:.4g}" in page
    assert "No logged predictions to draw cumulative incidence curves from." in page
    assert NOT_APPLICABLE[0][0] in page
    # metrics that are not per-cause competing metrics keep the flat table
    flat = page.split("<h4>Metrics</h4>", 1)[1].split("</table>", 1)[0]
    assert _rows(flat) == [["uncalibrated_wolbers_c_death", "0.4321", "–"]]
