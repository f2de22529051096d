"""Post-hoc access to tracked runs, and self-contained HTML reports.

Everything is read back from the tracking store; nothing needs retraining:

* :func:`load_experiments` / :func:`load_runs` — experiments and runs as flat pandas tables
  (``params.*``, ``metrics.*``, ``tags.*``);
* :func:`load_pipeline` — a run's (or registered model's) fitted pipeline;
* :func:`load_predictions` — a run's logged per-split predictions and outcomes, keyed by
  position in the split manifest; ``.evaluate(split)`` recomputes any registry metric and
  ``.bootstrap(split, metric)`` its confidence interval;
* :func:`write_report` — one HTML file (images embedded, no scripts) per experiment or set
  of runs, also logged to the store; what ``lightsaber report`` runs.

Examples
--------
>>> from lightsaber.reports import SECTIONS
>>> SECTIONS
('summary', 'comparison', 'tuning', 'runs')
"""

from lightsaber.exceptions import ReportError
from lightsaber.reports.html import N_BOOTSTRAP, SECTIONS, render_report, write_report
from lightsaber.reports.runs import load_experiments, load_runs
from lightsaber.serving.load import load_pipeline
from lightsaber.tracking.predictions import LoggedPredictions, load_predictions

__all__ = [
    "LoggedPredictions",
    "N_BOOTSTRAP",
    "ReportError",
    "SECTIONS",
    "load_experiments",
    "load_pipeline",
    "load_predictions",
    "load_runs",
    "render_report",
    "write_report",
]
