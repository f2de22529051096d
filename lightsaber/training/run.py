"""What ``ls.fit`` returns: the fitted pipeline, every split's metrics, and what was noticed."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lightsaber.serving.pipeline import FittedPipeline

__all__ = ["Run"]


@dataclass
class Run:
    """What ``ls.fit`` returns.

    Attributes
    ----------
    metrics : dict
        ``{split: {metric: value}}`` for train, val and test (and calibration if present);
        competing risks: ``{split: {"<metric>_<cause name>": value}}``.
    predictions : dict
        ``{split: array}``: positive-class probability (classification) or risk (survival),
        in the order of ``splits[split]``; competing risks: ``{split: CompetingPrediction}``
        (:class:`~lightsaber.metrics.CompetingPrediction`, the CIF of each predicted cause on
        :attr:`times`).
    pipeline : FittedPipeline
        Preprocessing + fitted model; ``run.pipeline.predict(new_cohort)``.
    run_id : str or None
        MLflow run id (``None`` when ``track=False``).
    task : str
    manifest : dict
        The split manifest.
    history : list of dict
        Per-epoch history for nets (skorch's), else empty.
    search : dict
        ``best_params`` and ``cv_results`` when the model was a scikit-learn search.
    calibration : CalibrationReport or None
        What ``calibrate=`` did (:class:`lightsaber.calibration.CalibrationReport`).
    warnings : list of str
        The warnings this fit issued (also MLflow tags ``lightsaber.warning.<kind>``).
    skipped : dict
        ``{split: {metric: reason}}`` of the default metrics that could not be computed (also
        the tag ``lightsaber.skipped_metrics``).
    times : numpy.ndarray or None
        Survival and competing risks: the evaluation times (``times=``, else the default;
        also the artifact ``evaluation/times.json``).
    """

    metrics: dict[str, dict[str, float]]
    predictions: dict[str, Any]
    pipeline: FittedPipeline
    run_id: str | None
    task: str
    manifest: dict[str, Any]
    tracking_uri: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    search: dict[str, Any] = field(default_factory=dict)
    calibration: Any = None
    warnings: list[str] = field(default_factory=list)
    skipped: dict[str, dict[str, str]] = field(default_factory=dict)
    times: np.ndarray | None = field(default=None, repr=False)

    @property
    def time_grid(self) -> np.ndarray | None:
        """Deprecated name of :attr:`times`."""
        from lightsaber._moved import renamed

        renamed("time_grid", "times", "Run")
        return self.times

    @property
    def model(self) -> Any:
        """The fitted estimator."""
        return self.pipeline.model

    def _headline(self, split: str, limit: int = 6) -> str:
        values = self.metrics.get(split, {})
        shown = [f"{k}={v:.4g}" for k, v in values.items()
                 if not k.startswith("uncalibrated_")][:limit]
        more = len([k for k in values if not k.startswith("uncalibrated_")]) - len(shown)
        return ", ".join(shown) + (f", +{more} more" if more > 0 else "")

    def __repr__(self) -> str:
        where = f"run {self.run_id}" if self.run_id else "untracked"
        lines = [f"Run({self.task}, {type(self.model).__name__}, {where}"]
        for split in ("val", "test"):
            if split in self.metrics:
                lines.append(f"  {split + ':':5} {self._headline(split) or 'no metric'}")
        if self.calibration is not None:
            lines.append(f"  calibrated with {self.calibration.method!r} "
                         f"(fitted on {self.calibration.fitted_on})")
        if self.warnings:
            lines.append(f"  {len(self.warnings)} warning(s): see run.warnings")
        text = "\n".join(lines) + ")"
        return text if len(text) <= 990 else text[:986] + "...)"

    def _repr_html_(self) -> str:
        names = list(dict.fromkeys(k for split in self.metrics.values() for k in split))
        splits = [s for s in ("train", "val", "calibration", "test") if s in self.metrics]
        head = "".join(f"<th>{html.escape(s)}</th>" for s in splits)
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td>" + "".join(
                f"<td>{self.metrics[s][name]:.4f}</td>" if name in self.metrics[s]
                else "<td>&mdash;</td>" for s in splits) + "</tr>" for name in names)
        title = (f"<b>Run</b> {html.escape(self.task)} &middot; "
                 f"{html.escape(type(self.model).__name__)}"
                 + (f" &middot; run <code>{html.escape(self.run_id)}</code>"
                    if self.run_id else " &middot; untracked"))
        notes = "".join(f"<li>{html.escape(w)}</li>" for w in self.warnings)
        return (f"<div>{title}<table><tr><th>metric</th>{head}</tr>{rows}</table>"
                + (f"<details><summary>{len(self.warnings)} warning(s)</summary><ul>{notes}"
                   "</ul></details>" if notes else "") + "</div>")
