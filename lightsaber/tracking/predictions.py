"""Per-split predictions logged with a run, so metrics and CIs can be recomputed later.

``ls.fit`` writes one NumPy ``.npz`` file per split under the run's ``predictions/`` artifacts,
plus ``predictions/index.json`` describing them:

* row ``i`` of every array is the ``i``-th patient of that split **in split-manifest order**
  (the order of ``splits[split]``, i.e. sorted cohort positions). Rows are keyed by that
  position only: no patient identifier is stored (see ``docs/privacy.md``);
* classification: ``label`` and ``proba`` (positive-class probability, or one column per
  class);
* survival: ``event``, ``time`` and ``risk`` (higher = earlier event), plus ``survival`` (one
  row per patient, one column per time) and ``times`` when the model predicts curves;
* competing risks: ``status`` (0 censored, the cause code), ``time``, ``times`` and, for each
  predicted cause code ``k``, ``cif_<k>`` (one row per patient, one column per time) and
  ``risk_<k>``; the index records the cohort's ``causes`` (``{code: name}``).

Outcomes (labels, durations, events) are stored because metrics need them; they are outcome
data, not identifiers. Arrays are written uncompressed in float64, so a recomputed metric is
bit-identical to the logged one.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from lightsaber.tracking import tracked_run
>>> tmp = tempfile.TemporaryDirectory()
>>> uri = f"sqlite:///{Path(tmp.name) / 'mlflow.db'}"
>>> with tracked_run("doc", tracking_uri=uri) as run:
...     log_predictions(run, "classification", {"test": np.array([0, 1, 1, 0])},
...                     {"test": np.array([0.2, 0.9, 0.6, 0.4])})
>>> logged = load_predictions(run.run_id, tracking_uri=uri)
>>> logged.task, logged.splits
('classification', ['test'])
>>> logged.evaluate("test", metrics=["auc_roc"])
{'auc_roc': 1.0}
>>> logged.frame("test").columns.tolist()
['position', 'label', 'proba']
>>> tmp.cleanup()
"""

from __future__ import annotations

import io
import json
import posixpath
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lightsaber.exceptions import TrackingError

__all__ = [
    "LoggedPredictions",
    "PREDICTIONS_DIR",
    "download_tree",
    "load_predictions",
    "log_predictions",
]

#: Artifact folder of the logged predictions.
PREDICTIONS_DIR = "predictions"
INDEX_FILE = "index.json"
#: 2: the grid is ``times`` (in the index and the npz files); 1 called it ``grid`` / ``time_grid``.
FORMAT_VERSION = 2


def _arrays(task: str, y: Any, prediction: Any) -> dict[str, np.ndarray]:
    if task == "competing":
        from lightsaber.data.targets import check_competing_target
        from lightsaber.metrics import CompetingPrediction

        target = check_competing_target(y)
        pred = CompetingPrediction.coerce(prediction)
        out = {"status": target["status"].astype(np.int64), "time": target["time"].astype(float),
               "times": np.asarray(pred.times, dtype=float)}
        for code in pred.cif:
            out[f"cif_{code}"] = np.asarray(pred.cif[code], dtype=float)
            out[f"risk_{code}"] = np.asarray(pred.risk[code], dtype=float)
        return out
    if task == "survival":
        from lightsaber.data.targets import check_survival_target
        from lightsaber.metrics import SurvivalPrediction

        target = check_survival_target(y, allow_all_censored=True)
        pred = SurvivalPrediction.coerce(prediction)
        out = {"event": target["event"].astype(bool), "time": target["time"].astype(float)}
        for name in ("risk", "survival", "times", "predicted_time"):
            value = getattr(pred, name)
            if value is not None:
                out[name] = np.asarray(value, dtype=float)
        return out
    label = np.asarray(y)
    if label.dtype == object:
        label = label.astype(str)
    return {"label": label, "proba": np.asarray(prediction, dtype=float)}


def log_predictions(run: Any, task: str, y: Mapping[str, Any], predictions: Mapping[str, Any],
                    *, metrics: Sequence[str] | None = None,
                    times: Sequence[float] | None = None, classes: Any = None,
                    causes: Mapping[int, str] | None = None) -> None:
    """Write each split's predictions and outcomes to ``predictions/<split>.npz``.

    Parameters
    ----------
    run : TrackedRun
        The open run.
    task : {"classification", "survival", "competing"}
    y : mapping of split name to target
        Labels, or survival / competing-risks structured arrays, in split-manifest order.
    predictions : mapping of split name to prediction
        Probabilities (classification), :class:`~lightsaber.metrics.SurvivalPrediction` /
        risk vectors (survival) or :class:`~lightsaber.metrics.CompetingPrediction`
        (competing risks), in the same order as ``y``.
    metrics : sequence of str, optional
        The metric names the run asked for (``None``: the task's defaults), recorded so that
        :meth:`LoggedPredictions.evaluate` recomputes the same set.
    times : sequence of float, optional
        Survival: the evaluation grid the metrics used (recorded so they can be recomputed
        exactly, whether it came from ``times=`` or the default).
    classes : array-like, optional
        Classification: the model's classes (the probability columns), recorded for the
        multi-class metrics of a split that lacks one.
    causes : mapping of int to str, optional
        Competing risks: the cohort's ``{code: name}`` (the names of the metrics).
    """
    index: dict[str, Any] = {"format": FORMAT_VERSION, "task": task, "key": "split_position",
                             "metrics": list(metrics) if metrics else None, "splits": {},
                             "times": None if times is None else [float(t) for t in times],
                             "classes": None if classes is None else np.asarray(classes).tolist(),
                             "causes": None if causes is None else {
                                 str(int(k)): str(v) for k, v in causes.items()}}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / PREDICTIONS_DIR
        folder.mkdir()
        for split, prediction in predictions.items():
            arrays = _arrays(task, y[split], prediction)
            n = len(next(iter(arrays.values())))
            np.savez(folder / f"{split}.npz", position=np.arange(n), **arrays)
            index["splits"][split] = {"n_rows": int(n), "file": f"{split}.npz",
                                      "fields": sorted(arrays)}
        (folder / INDEX_FILE).write_text(json.dumps(index, indent=2, sort_keys=True))
        run.log_artifact(folder)


@dataclass
class LoggedPredictions:
    """The predictions a run logged, with the outcomes needed to evaluate them.

    Attributes
    ----------
    run_id : str
    task : str
    arrays : dict
        ``{split: {field: ndarray}}``, rows in split-manifest order.
    metrics : list of str or None
        Metric names the run requested (``None``: the task's defaults).
    times : list of float or None
        Survival: the evaluation grid of the run's metrics.
    classes : list or None
        Classification: the model's classes.
    causes : dict of int to str or None
        Competing risks: ``{code: name}`` of the cohort's causes.
    """

    run_id: str
    task: str
    arrays: dict[str, dict[str, np.ndarray]]
    metrics: list[str] | None = None
    times: list[float] | None = None
    classes: list[Any] | None = None
    causes: dict[int, str] | None = None

    @property
    def splits(self) -> list[str]:
        """Splits with logged predictions (train, val, test, calibration order)."""
        order = ("train", "val", "calibration", "test")
        return sorted(self.arrays, key=lambda s: (order.index(s) if s in order else 9, s))

    def _split(self, split: str) -> dict[str, np.ndarray]:
        if split not in self.arrays:
            raise TrackingError(
                f"run {self.run_id} has no logged predictions for split {split!r}; it has "
                f"{self.splits}.")
        return self.arrays[split]

    def target(self, split: str) -> np.ndarray:
        """Labels, or a survival ``(event, time)`` / competing ``(status, time)`` array."""
        a = self._split(split)
        if self.task == "competing":
            from lightsaber.data.targets import make_competing_target

            return make_competing_target(a["status"], a["time"])
        if self.task == "survival":
            from lightsaber.data.targets import make_survival_target

            return make_survival_target(a["event"], a["time"])
        return a["label"]

    def prediction(self, split: str) -> Any:
        """Probabilities, a :class:`SurvivalPrediction` or a :class:`CompetingPrediction`."""
        a = self._split(split)
        if self.task == "competing":
            from lightsaber.metrics import CompetingPrediction

            codes = sorted(int(k[4:]) for k in a if k.startswith("cif_"))
            return CompetingPrediction(cif={k: a[f"cif_{k}"] for k in codes}, times=a["times"],
                                       risk={k: a[f"risk_{k}"] for k in codes},
                                       causes=self.causes)
        if self.task != "survival":
            return a["proba"]
        from lightsaber.metrics import SurvivalPrediction

        return SurvivalPrediction(**{k: a[k] for k in ("risk", "survival", "times",
                                                          "predicted_time") if k in a})

    def frame(self, split: str) -> pd.DataFrame:
        """One split as a DataFrame: ``position`` then outcomes and predictions.

        Survival curves become columns ``survival_<t>`` for each grid time ``t``, cumulative
        incidences ``cif_<k>_<t>`` (cause code ``k``).
        """
        a = self._split(split)
        columns: dict[str, Any] = {"position": a["position"]}
        for name, value in a.items():
            if name in ("position", "times"):
                continue
            if value.ndim == 2 and (name == "survival" or name.startswith("cif_")):
                columns.update({f"{name}_{t:g}": value[:, j]
                                for j, t in enumerate(a["times"])})
            elif value.ndim == 2:
                columns.update({f"{name}_{j}": value[:, j] for j in range(value.shape[1])})
            else:
                columns[name] = value
        return pd.DataFrame(columns)

    def _context(self) -> dict[str, Any]:
        """``y_train`` and the evaluation grid, rebuilt from the logged training split."""
        if self.task not in ("survival", "competing") or "train" not in self.arrays:
            return {}
        from lightsaber.metrics.split_scores import default_times

        y_train = self.target("train")
        # The grid ls.fit used (times= or its default); runs logged before it was recorded
        # used the default.
        return {"y_train": y_train,
                "times": np.asarray(self.times, dtype=float) if self.times is not None
                else default_times(y_train)}

    def evaluate(self, split: str, metrics: Sequence[str] | None = None) -> dict[str, float]:
        """Recompute registry metrics of one split exactly as ``ls.fit`` computed them.

        Survival context (censoring distribution, evaluation times and horizon) is rebuilt from
        the logged training split, as in training.

        Parameters
        ----------
        split : str
        metrics : sequence of str, optional
            Default: the names the run requested (else the task's defaults that the split
            supports).

        Returns
        -------
        dict of str to float
        """
        from lightsaber.metrics.split_scores import evaluate_split

        names = list(metrics) if metrics else self.metrics
        return evaluate_split(self.task, self.target(split), self.prediction(split),
                              metrics=names, classes=self.classes, **self._context())

    def _cause_metric(self, metric: str) -> tuple[str, int]:
        """``("wolbers_c", 1)`` from a competing run's metric name ``"wolbers_c_death"``."""
        for code, name in (self.causes or {}).items():
            if metric.endswith(f"_{name}"):
                return metric[:-len(name) - 1], int(code)
        raise TrackingError(
            f"{metric!r} names no cause of run {self.run_id}: competing-risks metrics are "
            f"'<metric>_<cause name>' with causes {self.causes}, e.g. 'wolbers_c_"
            f"{next(iter((self.causes or {1: 'death'}).values()))}'.")

    def metric_context(self, split: str, metric: str) -> dict[str, Any]:
        """Keyword context ``ls.fit`` passed to ``metric`` on ``split`` (``y_train``, ...).

        Competing risks: ``metric`` is the per-cause name (``"wolbers_c_death"``), and the
        context includes its ``cause``.
        """
        from lightsaber.metrics import get_metric

        ctx = self._context()
        if not ctx:
            return {}
        if self.task == "competing":
            from lightsaber.metrics.split_scores import competing_context

            name, cause = self._cause_metric(metric)
            full = competing_context(self.target(split), ctx["y_train"], ctx["times"], cause)
            wanted = get_metric(name)
            return {k: v for k, v in full.items()
                    if v is not None and k in (*wanted.requires, *wanted.options)}
        from lightsaber.metrics.split_scores import survival_context

        full = survival_context(self.target(split), ctx["y_train"], ctx["times"])
        wanted = get_metric(metric)
        return {k: v for k, v in full.items()
                if v is not None and k in (*wanted.requires, *wanted.options)}

    def bootstrap(self, split: str, metric: str, *, n_resamples: int = 1000,
                  confidence: float = 0.95, seed: int = 0) -> Any:
        """Percentile-bootstrap CI of one registry metric on one split.

        Uses :func:`~lightsaber.metrics.bootstrap_ci` with the context of
        :meth:`metric_context` (the censoring distribution stays fixed). Competing risks:
        ``metric`` is the per-cause name, e.g. ``"wolbers_c_death"``.

        Returns
        -------
        BootstrapResult
        """
        from lightsaber.metrics import bootstrap_ci

        name = self._cause_metric(metric)[0] if self.task == "competing" else metric
        result = bootstrap_ci(name, self.target(split), self.prediction(split),
                              n_resamples=n_resamples, confidence=confidence, seed=seed,
                              **self.metric_context(split, metric))
        if name != metric:  # the per-cause name, as in the run's metrics
            import dataclasses

            result = dataclasses.replace(result, metric=metric)
        return result


def download_tree(client: Any, run_id: str, path: str, dst: str | Path) -> Path:
    """Download a run's artifact folder file by file into ``dst``; returns the local folder.

    The same files as ``client.download_artifacts(run_id, path, dst)``, without MLflow's
    progress bars on stderr (:func:`~lightsaber.tracking.quiet.quiet_artifact_downloads`).
    """
    from lightsaber.tracking.quiet import quiet_artifact_downloads

    root = Path(dst) / path
    root.mkdir(parents=True, exist_ok=True)
    stack = [path]
    with quiet_artifact_downloads():
        while stack:
            for item in client.list_artifacts(run_id, stack.pop()):
                if item.is_dir:
                    (Path(dst) / item.path).mkdir(parents=True, exist_ok=True)
                    stack.append(item.path)
                else:
                    client.download_artifacts(run_id, item.path,
                                              str((Path(dst) / item.path).parent))
    return root


def load_predictions(run_id: str, *, tracking_uri: str | None = None) -> LoggedPredictions:
    """Read the predictions a run logged (see the module notes for the layout).

    Raises
    ------
    TrackingError
        If the run has no ``predictions/`` artifacts (logged before this feature, or with
        tracking of predictions switched off) or the store cannot be read.
    """
    from mlflow.exceptions import MlflowException

    from lightsaber.tracking.client import open_client
    from lightsaber.tracking.uri import redact_uri, resolve_tracking_uri

    uri = resolve_tracking_uri(tracking_uri)
    client = open_client(uri)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            names = {posixpath.basename(f.path) for f in
                     client.list_artifacts(run_id, PREDICTIONS_DIR)}
            if INDEX_FILE not in names:
                raise TrackingError(
                    f"run {run_id} at {redact_uri(uri)} has no logged predictions "
                    f"({PREDICTIONS_DIR}/{INDEX_FILE}); refit it with a lightsaber version that "
                    "logs them.")
            local = download_tree(client, run_id, PREDICTIONS_DIR, tmp)
        except MlflowException as err:
            raise TrackingError(
                f"Could not read the predictions of run {run_id} at {redact_uri(uri)}: {err}"
            ) from err
        index = json.loads((local / INDEX_FILE).read_text())
        arrays = {}
        for split, entry in index["splits"].items():
            data = (local / entry["file"]).read_bytes()
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                # format 1 named the grid's array time_grid
                arrays[split] = {("times" if k == "time_grid" else k): npz[k] for k in npz.files}
    return LoggedPredictions(run_id=run_id, task=index["task"], arrays=arrays,
                             metrics=index.get("metrics"),
                             times=index.get("times", index.get("grid")),
                             classes=index.get("classes"),
                             causes=None if index.get("causes") is None else {
                                 int(k): v for k, v in index["causes"].items()})
