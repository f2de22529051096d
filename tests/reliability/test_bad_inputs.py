"""Bad-input catalogue: each malformed input fails early with a specific lightsaber error.

Every case runs the way a user would (files read through ``Cohort.from_files``, the cohort split
and fitted with ``ls.fit`` into a sqlite tracking store, or a fitted pipeline asked to predict),
and checks that

* the exception raised is a :class:`~lightsaber.exceptions.LightsaberError` subclass, the one
  named in the table (a pandas, pyarrow, scikit-learn or torch error may only appear as its
  ``__cause__``);
* its message names the location: the column, config key, argument or file;
* its message holds no patient identifier;
* no MLflow run of the store is ``RUNNING`` or ``FINISHED`` (a boundary failure creates no run,
  a failure inside ``ls.fit`` leaves it ``FAILED``).
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sksurv.linear_model import CoxPHSurvivalAnalysis

import lightsaber as ls
from lightsaber.config import load_config, prepare
from lightsaber.data.targets import check_label, check_survival_target
from lightsaber.exceptions import (
    ArgumentError,
    CohortError,
    ConfigError,
    DuplicateIdError,
    EmptyCohortError,
    FitError,
    IdMismatchError,
    InputTypeError,
    LightsaberError,
    LongitudinalOrderError,
    MissingColumnError,
    NonNumericColumnError,
    PredictionError,
    SchemaMismatchError,
    SplitError,
    TargetError,
)
from lightsaber.models import MLP, ClassifierNet, SurvivalNet
from lightsaber.serving import predict_cohort, predict_file
from tests.reliability.conftest import make_frames, run_statuses

ID_PREFIX = "RELIAB-ID-"


@dataclass(frozen=True)
class Case:
    """One malformed input: what to do, which error, which location its message must name."""

    name: str
    action: Callable[[SimpleNamespace], Any]
    error: type[LightsaberError]
    location: str


# ---------------------------------------------------------------------------------- helpers
def _write(env: SimpleNamespace, name: str, frame: pd.DataFrame, **kwargs: Any) -> Path:
    path = env.tmp / name
    if name.endswith((".parquet", ".pq")):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False, **kwargs)
    return path


def _fit(env: SimpleNamespace, static: Any = None, targets: Any = None, *, model: Any = None,
         fit_kwargs: dict | None = None, **cohort_kwargs: Any) -> Any:
    """Build a cohort (files or frames), split it and ``ls.fit`` it into the test store."""
    static = env.static if static is None else static
    targets = env.targets if targets is None else targets
    kwargs = {"id": "pid", "duration": "days", "event": "died", **cohort_kwargs}
    cohort = ls.Cohort.from_files(static, targets, **kwargs)
    splits = cohort.split(val=0.25, test=0.25, seed=0)
    if model is None:
        model = (LogisticRegression(max_iter=200) if cohort.duration is None
                 else CoxPHSurvivalAnalysis())
    options = {"experiment": "bad-inputs", "tracking_uri": env.uri, "log_model": False,
               "progress": False, **(fit_kwargs or {})}
    return ls.fit(model, cohort, splits, **options)


NET_DEFAULTS = {"module__hidden": (4,), "max_epochs": 2, "batch_size": 16}


def _fit_survival(env: SimpleNamespace, **model_kwargs: Any) -> Any:
    net = SurvivalNet(MLP, **{**NET_DEFAULTS, **model_kwargs})
    return _fit(env, model=net)


def _fit_classifier(env: SimpleNamespace, **model_kwargs: Any) -> Any:
    net = ClassifierNet(MLP, **{**NET_DEFAULTS, **model_kwargs})
    return _fit(env, model=net, label="label", duration=None, event=None)


def _with(frame: pd.DataFrame, **columns: Any) -> pd.DataFrame:
    out = frame.copy()
    for name, values in columns.items():
        out[name] = values
    return out


def _at(frame: pd.DataFrame, column: str, rows: list[int], value: Any) -> pd.DataFrame:
    out = frame.copy()
    values = out[column].astype(object) if not isinstance(value, (int, float)) else out[column]
    values = values.copy()
    for row in rows:
        values.iloc[row] = value
    out[column] = values
    return out


def _pipeline(env: SimpleNamespace) -> Any:
    """A fitted (untracked) classification pipeline, cached per test module."""
    if env.cache.get("pipeline") is None:
        cohort = ls.Cohort(env.static, env.targets, id="pid", label="label")
        splits = cohort.split(val=0.25, test=0.25, seed=0)
        run = ls.fit(LogisticRegression(max_iter=200), cohort, splits, track=False)
        env.cache["pipeline"] = run.pipeline
        env.cache["input"] = run.pipeline.input_frame(cohort)
    return env.cache["pipeline"]


def _predict(env: SimpleNamespace, change: Callable[[pd.DataFrame], pd.DataFrame],
             **kwargs: Any) -> Any:
    pipeline = _pipeline(env)
    return predict_cohort(pipeline, change(env.cache["input"].copy()), **kwargs)


def _other_splits(env: SimpleNamespace) -> Any:
    """Splits made on a smaller cohort (30 of the 40 patients)."""
    targets = env.targets[env.targets["pid"].isin(env.static["pid"].iloc[:30])]
    return ls.Cohort(env.static.iloc[:30], targets, id="pid", duration="days",
                     event="died").split(seed=0)


def _label_splits(env: SimpleNamespace) -> Any:
    return ls.Cohort(env.static, env.targets, id="pid", label="label").split(
        val=0.25, test=0.25, seed=0)


def _config(env: SimpleNamespace, text: str, encoding: str = "utf-8") -> Any:
    env.static.to_csv(env.tmp / "static.csv", index=False)
    env.targets.to_csv(env.tmp / "targets.csv", index=False)
    path = env.tmp / "experiment.yaml"
    path.write_bytes(text.encode(encoding))
    return prepare(load_config(str(path)))


VALID_CONFIG = """\
data: {static: static.csv, targets: targets.csv, id: pid, duration: days, event: died}
split: {val: 0.25, test: 0.25, seed: 1}
model: {_target_: sksurv.linear_model.CoxPHSurvivalAnalysis}
metrics: [c_index]
"""


def _truncated_parquet(env: SimpleNamespace) -> Path:
    path = _write(env, "static.parquet", env.static)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _latin1_csv(env: SimpleNamespace) -> Path:
    frame = _with(env.static, ward=["Médecine interne"] * len(env.static))
    path = env.tmp / "static.csv"
    path.write_bytes(frame.to_csv(index=False).encode("latin-1"))
    return path


def _mixed_tz(n: int) -> list[Any]:
    stamps = []
    for i in range(n):
        tz = "UTC" if i % 2 else "Europe/Paris"
        stamps.append(pd.Timestamp("2024-03-01 08:00") .tz_localize(tz) + pd.Timedelta(hours=i))
    return stamps


def _long_with(env: SimpleNamespace, long: pd.DataFrame, **kwargs: Any) -> Any:
    cohort = ls.Cohort(env.static, env.targets, id="pid", duration="days", event="died",
                       longitudinal=long, time="hour", **kwargs)
    return _fit(env, cohort.static.assign(pid=cohort.ids), env.targets)


N = 40
CASES = [
    # ---------------------------------------------------------------- cohort files
    Case("latin-1 encoded CSV", lambda e: _fit(e, _latin1_csv(e)), CohortError, "static.csv"),
    Case("empty file", lambda e: _fit(e, (e.tmp / "static.csv").write_bytes(b"") and None
                                      or e.tmp / "static.csv"), CohortError, "static.csv"),
    Case("header-only CSV", lambda e: _fit(e, _write(e, "static.csv", e.static.iloc[:0])),
         EmptyCohortError, "static"),
    Case("truncated Parquet file", lambda e: _fit(e, _truncated_parquet(e)), CohortError,
         "static.parquet"),
    Case("CSV text saved as .parquet",
         lambda e: _fit(e, (e.tmp / "s.parquet").write_text("pid,age\n1,2\n") and None
                        or e.tmp / "s.parquet"), CohortError, "s.parquet"),
    Case("ragged CSV row",
         lambda e: _fit(e, (e.tmp / "s.csv").write_text("pid,age\nA,1\nB,2,3,4\n") and None
                        or e.tmp / "s.csv"), CohortError, "s.csv"),
    Case(".csv.gz that is not gzip",
         lambda e: _fit(e, (e.tmp / "s.csv.gz").write_text("pid,age\nA,1\n") and None
                        or e.tmp / "s.csv.gz"), CohortError, "s.csv.gz"),
    Case("binary garbage as CSV",
         lambda e: _fit(e, (e.tmp / "s.csv").write_bytes(gzip.compress(b"x" * 500)) and None
                        or e.tmp / "s.csv"), CohortError, "s.csv"),
    Case("unknown extension", lambda e: _fit(e, _write(e, "static.xlsx", e.static)),
         CohortError, "static.xlsx"),
    Case("missing file", lambda e: _fit(e, e.tmp / "nope.csv"), CohortError, "nope.csv"),
    Case("a folder named like a CSV",
         lambda e: _fit(e, (e.tmp / "dir.csv").mkdir() or e.tmp / "dir.csv"), CohortError,
         "dir.csv"),
    Case("not a table (a list)", lambda e: _fit(e, [1, 2, 3]), CohortError, "static"),
    # ---------------------------------------------------------------- static table content
    Case("mixed types in a numeric column",
         lambda e: _fit(e, _at(e.static, "age", [3], "n/a")), NonNumericColumnError, "age"),
    Case("inf in a feature", lambda e: _fit(e, _at(e.static, "lab_a", [2], np.inf)),
         CohortError, "lab_a"),
    Case("-inf in a feature", lambda e: _fit(e, _at(e.static, "age", [5], -np.inf)),
         CohortError, "age"),
    Case("duplicated ids", lambda e: _fit(e, _at(e.static, "pid", [1], ID_PREFIX + "0000")),
         DuplicateIdError, "pid"),
    Case("missing id", lambda e: _fit(e, _at(e.static, "pid", [4], None)), DuplicateIdError,
         "pid"),
    Case("ids as floats vs strings",
         lambda e: _fit(e, _with(e.static, pid=np.arange(N, dtype=float)),
                        _with(e.targets, pid=[str(i) for i in range(N)])),
         IdMismatchError, "pid"),
    Case("missing id column", lambda e: _fit(e, e.static.drop(columns="pid")),
         MissingColumnError, "pid"),
    Case("duplicated column names",
         lambda e: _fit(e, pd.concat([e.static, e.static[["age"]]], axis=1)), CohortError,
         "age"),
    Case("huge categorical cardinality",
         lambda e: _fit(e, _with(e.static, note=[f"free text {i}" for i in range(N)])),
         NonNumericColumnError, "note"),
    Case("datetime feature column",
         lambda e: _fit(e, _with(e.static, admitted=pd.date_range("2024-01-01", periods=N))),
         NonNumericColumnError, "admitted"),
    Case("timezone-mixed timestamps in a feature",
         lambda e: _fit(e, _with(e.static, admitted=_mixed_tz(N))), NonNumericColumnError,
         "admitted"),
    Case("unhashable cells (lists) in a feature",
         lambda e: _fit(e, _with(e.static, codes=[[i, 2] for i in range(N)])),
         NonNumericColumnError,
         "codes"),
    Case("complex numbers in a feature",
         lambda e: _fit(e, _with(e.static, z=np.ones(N) + 1j)), NonNumericColumnError, "z"),
    Case("declared feature absent", lambda e: _fit(e, features=["age", "lab_z"]),
         MissingColumnError, "lab_z"),
    Case("undeclared text column with explicit categorical list",
         lambda e: _fit(e, categorical=[]), NonNumericColumnError, "sex"),
    # ---------------------------------------------------------------- targets
    Case("event and duration swapped", lambda e: _fit(e, duration="died", event="days"),
         TargetError, "days"),
    Case("negative durations", lambda e: _fit(e, targets=_at(e.targets, "days", [0, 3], -4.0)),
         TargetError, "days"),
    Case("inf duration", lambda e: _fit(e, targets=_at(e.targets, "days", [2], np.inf)),
         TargetError, "days"),
    Case("text duration", lambda e: _fit(e, targets=_at(e.targets, "days", [2], "ten")),
         TargetError, "days"),
    Case("dates instead of durations",
         lambda e: _fit(e, targets=_with(e.targets, days=pd.date_range("2024-01-01",
                                                                         periods=N))),
         TargetError, "days"),
    Case("timedelta durations",
         lambda e: _fit(e, targets=_with(e.targets, days=pd.to_timedelta(np.arange(N) + 1,
                                                                          unit="D"))),
         TargetError, "days"),
    Case("NaN event", lambda e: _fit(e, targets=_at(e.targets, "died", [1], np.nan)),
         TargetError, "died"),
    Case("event coded 1/2", lambda e: _fit(e, targets=_with(e.targets,
                                                            died=e.targets["died"] + 1)),
         TargetError, "died"),
    Case("all censored", lambda e: _fit(e, targets=_with(e.targets, died=0)), TargetError,
         "died"),
    Case("NaN labels",
         lambda e: _fit(e, targets=_at(e.targets, "label", [0, 7], np.nan), label="label",
                        duration=None, event=None), TargetError, "label"),
    Case("single-class label",
         lambda e: _fit(e, targets=_with(e.targets, label=1), label="label", duration=None,
                        event=None), TargetError, "label"),
    Case("duration without event", lambda e: _fit(e, event=None), TargetError, "event"),
    Case("targets for other patients",
         lambda e: _fit(e, targets=_at(e.targets, "pid", [0], "SOMEONE-ELSE")),
         IdMismatchError, "pid"),
    Case("check_survival_target: scalar", lambda e: check_survival_target(1, 2.0),
         TargetError, "event"),
    Case("check_survival_target: 2-d time",
         lambda e: check_survival_target([1, 0], [[1.0, 2.0], [3.0, 4.0]]), TargetError,
         "duration"),
    Case("check_survival_target: lengths differ",
         lambda e: check_survival_target([1, 0, 1], [1.0, 2.0]), TargetError, "duration"),
    Case("check_survival_target: plain array alone",
         lambda e: check_survival_target(np.array([1.0, 2.0])), TargetError, "structured"),
    Case("check_label: 2-d labels", lambda e: check_label(np.zeros((3, 2)), name="y"),
         TargetError, "y"),
    # ---------------------------------------------------------------- longitudinal
    Case("duplicated (id, time) rows",
         lambda e: _long_with(e, pd.concat([e.long, e.long.iloc[[0]]]).sort_values(
             ["pid", "hour"], kind="stable")), LongitudinalOrderError, "hour"),
    Case("timezone-mixed timestamps as time",
         lambda e: _long_with(e, _with(e.long, hour=_mixed_tz(len(e.long)))),
         NonNumericColumnError, "hour"),
    Case("NaN time", lambda e: _long_with(e, _at(e.long, "hour", [3], np.nan)),
         LongitudinalOrderError, "hour"),
    Case("inf measurement", lambda e: _long_with(e, _at(e.long, "hr", [3], np.inf)),
         CohortError, "hr"),
    Case("long table ids as floats",
         lambda e: _long_with(e, _with(e.long, pid=np.arange(len(e.long), dtype=float))),
         IdMismatchError, "pid"),
    Case("time going backwards",
         lambda e: _long_with(e, e.long.iloc[::-1].reset_index(drop=True)),
         LongitudinalOrderError, "hour"),
    # ---------------------------------------------------------------- configs
    Case("config: YAML syntax error", lambda e: _config(e, "data: {static: [\n"), ConfigError,
         "experiment.yaml"),
    Case("config: a list, not a mapping", lambda e: _config(e, "- 1\n- 2\n"), ConfigError,
         "experiment.yaml"),
    Case("config: empty file", lambda e: _config(e, ""), ConfigError, "data"),
    Case("config: latin-1 bytes",
         lambda e: _config(e, VALID_CONFIG + "# commentaire: durée\n", "latin-1"),
         ConfigError, "experiment.yaml"),
    Case("config: tab indentation",
         lambda e: _config(e, VALID_CONFIG + "tracking:\n\texperiment: x\n"), ConfigError,
         "experiment.yaml"),
    Case("config: data file truncated Parquet",
         lambda e: _config(e, VALID_CONFIG.replace("static.csv", _truncated_parquet(e).name)),
         ConfigError, "data.static"),
    # ---------------------------------------------------------------- model / loss arguments
    Case("max_epochs=0", lambda e: _fit_survival(e, max_epochs=0), ArgumentError,
         "max_epochs"),
    Case("negative lr", lambda e: _fit_classifier(e, lr=-1.0), ArgumentError, "lr"),
    Case("batch_size as text", lambda e: _fit_classifier(e, batch_size="32"),
         ArgumentError, "batch_size"),
    Case("unknown device", lambda e: _fit_survival(e, device="tpu"), ArgumentError,
         "device"),
    Case("unknown loss name", lambda e: _fit_survival(e, loss="coxx"), ArgumentError,
         "coxx"),
    Case("unknown output kind", lambda e: _fit_survival(e, output="banana"),
         ArgumentError, "output"),
    Case("unknown loss option", lambda e: _fit_survival(e, loss_options={"tiez": "efron"}),
         ArgumentError, "tiez"),
    Case("unknown module argument", lambda e: _fit_survival(e, module__hidenn=(4,)),
         ArgumentError, "module__hidenn"),
    Case("bad class_weight", lambda e: _fit_classifier(e, class_weight="heavy"),
         ArgumentError, "class_weight"),
    Case("negative gradient_clip", lambda e: _fit_survival(e, gradient_clip=-1.0),
         ArgumentError, "gradient_clip"),
    Case("unknown monitor", lambda e: _fit(e, model=SurvivalNet(MLP, max_epochs=1),
                                           fit_kwargs={"monitor": "c_idx"}),
         LightsaberError, "c_idx"),
    Case("unknown metric", lambda e: _fit(e, model=SurvivalNet(MLP, max_epochs=1),
                                          fit_kwargs={"metrics": ["c_idx"]}),
         LightsaberError, "c_idx"),
    Case("unknown calibration method",
         lambda e: _fit(e, fit_kwargs={"calibrate": "plat"}, label="label", duration=None,
                        event=None), LightsaberError, "plat"),
    Case("invalid scikit-learn hyperparameter",
         lambda e: _fit(e, model=LogisticRegression(C=-1.0), label="label", duration=None,
                        event=None), FitError, "C"),
    Case("classifier on a survival-only cohort",
         lambda e: _fit(e, model=LogisticRegression()), FitError, "label"),
    # ---------------------------------------------------------------- prediction-time cohorts
    Case("predict: missing column", lambda e: _predict(e, lambda f: f.drop(columns="age")),
         SchemaMismatchError, "age"),
    Case("predict: text in a numeric column",
         lambda e: _predict(e, lambda f: _with(f, age="old")), SchemaMismatchError, "age"),
    Case("predict: inf value", lambda e: _predict(e, lambda f: _at(f, "lab_a", [1], np.inf)),
         PredictionError, "lab_a"),
    Case("predict: empty frame", lambda e: _predict(e, lambda f: f.iloc[:0]),
         EmptyCohortError, "prediction input"),
    Case("predict: datetime where a number was trained",
         lambda e: _predict(e, lambda f: _with(f, age=pd.date_range("2020-01-01",
                                                                    periods=len(f)))),
         SchemaMismatchError, "age"),
    Case("predict: times for a classifier", lambda e: _predict(e, lambda f: f, times=[1.0]),
         PredictionError, "times"),
    Case("predict: latin-1 file",
         lambda e: predict_file(_pipeline(e), _latin1_csv(e), e.tmp / "out.csv"),
         CohortError, "static.csv"),
    Case("predict: truncated Parquet file",
         lambda e: predict_file(_pipeline(e), _truncated_parquet(e), e.tmp / "out.csv"),
         CohortError, "static.parquet"),
    Case("predict: unknown output extension",
         lambda e: predict_file(_pipeline(e), e.static, e.tmp / "out.xlsx"), PredictionError,
         "out.xlsx"),
    # ---------------------------------------------------------------- the trust issue (15)
    Case("text label without positive=",
         lambda e: _fit(e, targets=_with(e.targets, label=np.where(e.targets["label"] == 1,
                                                                   "yes", "no")),
                        label="label", duration=None, event=None), TargetError, "label"),
    Case("count column as a label",
         lambda e: _fit(e, targets=_with(e.targets, label=np.arange(N) % 4), label="label",
                        duration=None, event=None), TargetError, "classes="),
    Case("positive= that never occurs",
         lambda e: _fit(e, label="label", duration=None, event=None, positive="yes"),
         TargetError, "positive='yes'"),
    Case("label value outside the declared classes",
         lambda e: _fit(e, targets=_with(e.targets, label=np.arange(N) % 4), label="label",
                        duration=None, event=None, classes=[0, 1, 2]), TargetError, "classes="),
    Case("a DataFrame where the cohort goes",
         lambda e: ls.fit(LogisticRegression(), e.static, None, track=False), InputTypeError,
         "cohort"),
    Case("a model class, not an instance",
         lambda e: _fit(e, model=CoxPHSurvivalAnalysis), InputTypeError, "model"),
    Case("splits of another cohort",
         lambda e: ls.fit(CoxPHSurvivalAnalysis(), ls.Cohort(e.static, e.targets, id="pid",
                                                             duration="days", event="died"),
                          _other_splits(e), track=False), SplitError, "splits"),
    Case("times= for a classifier",
         lambda e: _fit(e, label="label", duration=None, event=None,
                        fit_kwargs={"times": [1.0, 2.0]}), FitError, "times"),
    Case("times= not increasing", lambda e: _fit(e, fit_kwargs={"times": [50.0, 10.0]}),
         FitError, "times"),
    Case("times= beyond the follow-up", lambda e: _fit(e, fit_kwargs={"times": [10.0, 1e6]}),
         FitError, "times"),
    Case("misspelt search-space key",
         lambda e: ls.tune(LogisticRegression(), ls.Cohort(e.static, e.targets, id="pid",
                                                           label="label"),
                           _label_splits(e), {"C_": {"choice": [0.1, 1.0]}},
                           tracking_uri=e.uri,
                           progress=False), LightsaberError, "C_"),
    Case("predict: a DataFrame given to pipeline.predict",
         lambda e: _pipeline(e).predict(e.static), InputTypeError, "predict_frame"),
]


def test_catalogue_is_large_and_unique():
    assert len(CASES) >= 40
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.fixture(scope="module")
def module_store(tmp_path_factory: pytest.TempPathFactory, template_store: Path) -> Path:
    """One sqlite store shared by the catalogue (each case checks every run in it)."""
    import shutil

    path = tmp_path_factory.mktemp("bad-inputs-store") / "mlflow.db"
    shutil.copyfile(template_store, path)
    return path


@pytest.fixture(scope="module")
def cache() -> dict[str, Any]:
    return {}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_gives_a_specific_error(case: Case, tmp_path: Path, module_store: Path,
                                          cache: dict[str, Any], monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    static, targets, long = make_frames(N, prefix=ID_PREFIX)
    env = SimpleNamespace(tmp=tmp_path, uri=f"sqlite:///{module_store}", static=static,
                          targets=targets, long=long, cache=cache)
    before = len(run_statuses(module_store))
    with pytest.raises(LightsaberError) as info:
        case.action(env)
    err = info.value
    assert isinstance(err, case.error), f"{type(err).__module__}.{type(err).__qualname__}: {err}"
    message = str(err)
    assert case.location in message, message
    assert ID_PREFIX not in message, message
    assert "Traceback" not in message
    statuses = run_statuses(module_store)[before:]  # the runs this case created
    assert "RUNNING" not in statuses and "FINISHED" not in statuses, statuses
