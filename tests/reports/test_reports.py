"""Post-hoc access, recomputed metrics, the HTML report (incl. headless Chromium) and the
model registry, on the store built in ``conftest.py``."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest
from mlflow import MlflowClient

from lightsaber.exceptions import RegistryError
from lightsaber.reports import (
    SECTIONS,
    ReportError,
    load_predictions,
    load_runs,
    write_report,
)
from lightsaber.serving.load import load_pipeline
from lightsaber.tracking.model_registry import register_best, register_run
from tests.reports.conftest import EXPERIMENT
from tests.tracking.privacy import scan_tracking_store


def _logged_metrics(uri, run_id):
    return MlflowClient(tracking_uri=uri).get_run(run_id).data.metrics


# ------------------------------------------------------------------ post-hoc access
def test_load_runs_flattens_params_metrics_tags_and_roles(tracked):
    table = load_runs(EXPERIMENT, tracking_uri=tracked.uri)
    roles = dict(zip(table["run_id"], table["role"], strict=True))
    assert roles[tracked.clf.run_id] == "run"
    assert roles[tracked.study_id] == "study"
    assert roles[tracked.refit.run_id] == "refit"
    assert {roles[t] for t in tracked.trial_ids} == {"trial"}
    row = table.set_index("run_id").loc[tracked.surv.run_id]
    assert row["params.model.class"] == "CoxPHSurvivalAnalysis"
    assert row["metrics.test_c_index"] == pytest.approx(tracked.surv.metrics["test"]["c_index"])
    assert row["tags.task"] == "survival"
    dotted = [c for c in table.columns if "." in c]
    assert all(c.startswith(("params.", "metrics.", "tags.")) for c in dotted)
    assert list(table.columns[:8]) == ["run_id", "run_name", "experiment", "status",
                                       "start_time", "end_time", "parent_run_id", "role"]


@pytest.mark.parametrize("which", ["clf", "surv", "refit"])
def test_recomputed_metrics_from_logged_predictions_equal_logged_metrics(tracked, which):
    run = getattr(tracked, which)
    logged = load_predictions(run.run_id, tracking_uri=tracked.uri)
    assert set(logged.splits) == set(tracked.splits.names)
    store = _logged_metrics(tracked.uri, run.run_id)
    for split in logged.splits:
        recomputed = logged.evaluate(split)
        expected = {k[len(split) + 1:]: v for k, v in store.items()
                    if k.startswith(f"{split}_")}
        assert recomputed.keys() == expected.keys()
        for name, value in recomputed.items():
            assert value == expected[name], (split, name)  # bit-identical, not approximate


def test_logged_predictions_are_keyed_by_split_position(tracked):
    for run in (tracked.clf, tracked.surv):
        logged = load_predictions(run.run_id, tracking_uri=tracked.uri)
        for split in logged.splits:
            frame = logged.frame(split)
            np.testing.assert_array_equal(frame["position"], np.arange(len(frame)))
            part = tracked.cohort.subset(tracked.splits[split])
            column = "risk" if run.task == "survival" else "proba"
            np.testing.assert_array_equal(frame[column], run.predictions[split])
            if run.task == "survival":
                np.testing.assert_array_equal(frame["time"], part.y_survival["time"])
            else:
                np.testing.assert_array_equal(frame["label"], part.y_label)
        surv_cols = [c for c in logged.frame("test").columns if c.startswith("survival_")]
        assert bool(surv_cols) == (run.task == "survival")


def test_bootstrap_ci_from_logged_predictions(tracked):
    logged = load_predictions(tracked.surv.run_id, tracking_uri=tracked.uri)
    for metric in ("c_index", "ibs"):
        ci = logged.bootstrap("test", metric, n_resamples=50)
        assert ci.estimate == tracked.surv.metrics["test"][metric]
        assert ci.low <= ci.estimate <= ci.high


def test_load_pipeline_of_a_run_predicts_like_the_fitted_one(tracked):
    pipeline = load_pipeline(tracked.surv.run_id, tracking_uri=tracked.uri)
    test = tracked.cohort.subset(tracked.splits.test)
    np.testing.assert_allclose(pipeline.predict(test), tracked.surv.pipeline.predict(test),
                               rtol=1e-12)


# ------------------------------------------------------------------ report
@pytest.fixture(scope="module")
def report(tracked):
    path = write_report(tracked.root / "out" / "report.html", experiment=EXPERIMENT,
                        tracking_uri=tracked.uri)
    return path, path.read_text(encoding="utf-8")


def test_report_has_every_section_and_embeds_its_images(tracked, report):
    path, page = report
    assert path.name == "report.html" and path.exists()
    for section in SECTIONS:
        assert f'<section id="{section}">' in page
    for run in (tracked.clf, tracked.surv, tracked.refit):
        assert f'id="run-{run.run_id}"' in page
    for trial in tracked.trial_ids:  # trials appear in the study table, not as model runs
        assert f'id="run-{trial}"' not in page
    assert f'id="study-{tracked.study_id}"' in page
    for heading in ("Model comparison", "ROC curve", "Precision-recall curve",
                    "Time-dependent AUC", "Calibration at horizons",
                    "Predicted vs Kaplan-Meier survival", "Optimisation history",
                    "Data summary and split manifest", "Configuration and environment",
                    "environment.json"):
        assert heading in page, heading
    # 95% intervals in the comparison table: "estimate [low, high]"
    comparison = page.split('<section id="comparison">')[1].split("</section>")[0]
    assert len(re.findall(r"\[[-\d.e]+, [-\d.e]+\]", comparison)) >= 8
    # images: PNG data URIs only, nothing fetched from elsewhere, no scripts
    sources = re.findall(r'<img[^>]* src="([^"]+)"', page)
    assert len(sources) >= 10
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    for src in sources:
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<script" not in page and "<link" not in page and "http://" not in page.replace(
        "http://www.w3.org", "")
    # the calibration figure logged by the run and the study's own figure are embedded
    assert base64.b64encode(tracked.calibration_png).decode() in page
    assert "analysis/history.png" in page


#: Outline of the report on the store of ``conftest.py``: the ``id`` (run ids as run names) or
#: ``class`` of each section and block, and each heading, in document order. Recorded from the
#: f-string report before the move to Jinja2 templates; the templates must keep it.
GOLDEN_OUTLINE = [
    "h1 lightsaber report: report-demo",
    "section#summary", "h2 Experiment summary",
    "section#comparison", "h2 Model comparison", "h3 Classification", "h3 Survival",
    "section#tuning", "h2 Tuning analysis", "div#study-study-logreg", "h3 Study logreg-C",
    "section#runs", "h2 Runs",
    "div#run-logistic", "h3 logistic", "h4 Metrics",
    "div.performance", "h4 Performance (test split)", "div.calibration", "h4 Calibration",
    "div.data", "h4 Data summary and split manifest",
    "div.environment", "h4 Configuration and environment",
    "div#run-coxph", "h3 coxph", "h4 Metrics",
    "div.performance", "h4 Performance (test split)", "div.calibration", "h4 Calibration",
    "div.survival-curves", "h4 Predicted vs Kaplan-Meier survival",
    "div.data", "h4 Data summary and split manifest",
    "div.environment", "h4 Configuration and environment",
    "div#run-study-refit", "h3 study-refit", "h4 Metrics",
    "div.performance", "h4 Performance (test split)", "div.calibration", "h4 Calibration",
    "div.data", "h4 Data summary and split manifest",
    "div.environment", "h4 Configuration and environment",
]


class _Outline(HTMLParser):
    """Sections and blocks (``tag#id`` / ``tag.class``) and headings (``hN text``)."""

    def __init__(self, names):
        super().__init__()
        self.names, self.out, self.heading = names, [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("section", "div") and attrs.get("id"):
            prefix, _, run_id = attrs["id"].partition("-")
            self.out.append(f"{tag}#{prefix}-{self.names.get(run_id, run_id)}"
                            if run_id else f"{tag}#{prefix}")
        elif tag == "div" and attrs.get("class") not in (None, "figs"):
            self.out.append(f"div.{attrs['class']}")
        elif tag in ("h1", "h2", "h3", "h4"):
            self.heading = [tag, ""]

    def handle_data(self, data):
        if self.heading:
            self.heading[1] += data

    def handle_endtag(self, tag):
        if self.heading and tag == self.heading[0]:
            self.out.append(f"{tag} {' '.join(self.heading[1].split())}")
            self.heading = None


def test_report_outline_is_unchanged(tracked, report):
    _, page = report
    client = MlflowClient(tracking_uri=tracked.uri)
    exp = client.get_experiment_by_name(EXPERIMENT)
    names = {r.info.run_id: r.info.run_name for r in client.search_runs([exp.experiment_id])}
    outline = _Outline(names)
    outline.feed(page)
    assert outline.out == GOLDEN_OUTLINE
    ids = re.findall(r'<section id="([^"]+)"', page)
    assert tuple(ids) == SECTIONS


def test_report_and_store_hold_no_patient_id(tracked, report):
    _, page = report
    assert not [pid for pid in tracked.ids if str(pid) in page]
    assert "ids_sha256" not in page
    assert scan_tracking_store([tracked.root], [str(i) for i in tracked.ids]) == []


def test_report_is_logged_to_a_report_run_left_out_of_tables(tracked, report):
    client = MlflowClient(tracking_uri=tracked.uri)
    exp = client.get_experiment_by_name(EXPERIMENT)
    reports = client.search_runs([exp.experiment_id],
                                 filter_string="tags.`lightsaber.report` = 'true'")
    assert len(reports) >= 1
    files = [a.path for a in client.list_artifacts(reports[0].info.run_id, "report")]
    assert files == ["report/report.html"]
    assert reports[0].info.run_id not in set(load_runs(EXPERIMENT, tracking_uri=tracked.uri)
                                             ["run_id"])


def test_report_for_chosen_runs_and_clear_errors(tracked, tmp_path):
    path = write_report(tmp_path / "one.html", runs=[tracked.surv.run_id],
                        tracking_uri=tracked.uri)
    page = path.read_text()
    assert f'id="run-{tracked.surv.run_id}"' in page
    assert f'id="run-{tracked.clf.run_id}"' not in page
    with pytest.raises(ReportError, match="name an experiment"):
        write_report(tmp_path / "none.html", tracking_uri=tracked.uri)
    with pytest.raises(RegistryError, match="no experiment named 'nope'"):
        write_report(tmp_path / "none.html", experiment="nope", tracking_uri=tracked.uri)
    assert not (tmp_path / "none.html").exists()


def test_report_renders_in_headless_chromium(report, tmp_path):
    from matplotlib.image import imread

    if shutil.which("chromium") is None:  # `make test` installs it (as root); CI fails here
        pytest.skip("Debian chromium not installed (apt-get install chromium)")

    path, _ = report
    shot = tmp_path / "shot.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                    "--hide-scrollbars", "--window-size=1200,2400",
                    f"--screenshot={shot}", path.as_uri()],
                   check=True, capture_output=True, timeout=120)
    pixels = imread(shot)[..., :3]
    not_white = (pixels < 0.95).any(axis=-1).mean()
    assert pixels.shape[:2] == (2400, 1200)
    assert not_white > 0.03, f"screenshot looks blank ({not_white:.1%} non-white pixels)"
    assert pixels.std() > 0.05


# ------------------------------------------------------------------ registry
def test_register_best_run_by_validation_metric_and_load_by_version_or_alias(tracked):
    info = register_best("demo-survival", experiment=EXPERIMENT, metric="c_index",
                         tracking_uri=tracked.uri, alias="champion")
    assert info.run_id == tracked.surv.run_id and info.uri == "models:/demo-survival/1"
    assert info.value == tracked.surv.metrics["val"]["c_index"]
    client = MlflowClient(tracking_uri=tracked.uri, registry_uri=tracked.uri)
    tags = client.get_model_version("demo-survival", "1").tags
    assert tags["lightsaber.metric"] == "val_c_index"
    assert tags["task"] == "survival" and tags["model_class"] == "CoxPHSurvivalAnalysis"
    assert tags["lightsaber.run_id"] == tracked.surv.run_id
    test = tracked.cohort.subset(tracked.splits.test)
    expected = tracked.surv.pipeline.predict(test)
    for uri in ("models:/demo-survival/1", "models:/demo-survival@champion"):
        np.testing.assert_allclose(load_pipeline(uri, tracking_uri=tracked.uri).predict(test),
                                   expected, rtol=1e-12)
    # classification: the refit logged no model, so the best run with a model is chosen
    best = register_best("demo-clf", experiment=EXPERIMENT, metric="brier",
                         tracking_uri=tracked.uri)
    assert best.run_id == tracked.clf.run_id
    again = register_run(tracked.clf.run_id, "demo-clf", tracking_uri=tracked.uri,
                         alias="champion")
    assert again.version == "2"


def test_registry_errors_name_the_problem(tracked):
    with pytest.raises(RegistryError, match="logged the metric 'nope_ibll' and a model"):
        register_best("x", experiment=EXPERIMENT, metric="ibll", split="nope",
                      tracking_uri=tracked.uri)
    with pytest.raises(RegistryError, match="has no logged model"):
        register_run(tracked.refit.run_id, "x", tracking_uri=tracked.uri)
    with pytest.raises(RegistryError, match="models:/NAME/VERSION"):
        load_pipeline("models:/only-a-name", tracking_uri=tracked.uri)
