"""How a cohort describes itself: counts, rates, follow-up and missingness, as dict and HTML."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from lightsaber.data.cohort import Cohort

__all__ = ["cohort_html", "describe_cohort", "missingness_table"]


def describe_cohort(cohort: Cohort) -> dict[str, Any]:
    """Aggregate summary of ``cohort``: no identifiers, no row-level values.

    Examples
    --------
    >>> from lightsaber.data.cohort import Cohort
    >>> df = pd.DataFrame({"id": [1, 2, 3, 4], "x": [1.0, None, 3, 4], "y": [0, 1, 0, 1]})
    >>> describe_cohort(Cohort(df, id="id", label="y"))["label_rate"]
    0.5
    """
    d: dict[str, Any] = {
        "n_patients": cohort.n_patients,
        "task": cohort.task,
        "n_static_features": len(cohort.feature_names),
        "n_categorical": len(cohort.categorical),
    }
    if cohort.label is not None:
        labels = cohort.y_label
        uniques = np.unique(labels)
        if len(uniques) <= 2 and set(uniques.tolist()).issubset({0, 1}):
            d["label_rate"] = float(np.mean(labels))
        else:
            d["label_counts"] = {str(u): int((labels == u).sum()) for u in uniques}
    if cohort.causes is not None:
        y = cohort.y_competing
        d["event_rate"] = float((y["status"] > 0).mean())
        d["cause_counts"] = {name: int((y["status"] == code).sum())
                             for code, name in cohort.causes.items()}
        d["censored"] = int((y["status"] == 0).sum())
        d["censoring_rate"] = 1.0 - d["event_rate"]
        d["follow_up_min"] = float(y["time"].min())
        d["follow_up_median"] = float(np.median(y["time"]))
        d["follow_up_max"] = float(y["time"].max())
    elif cohort.duration is not None:
        y = cohort.y_survival
        d["event_rate"] = float(y["event"].mean())
        d["censoring_rate"] = 1.0 - d["event_rate"]
        d["follow_up_min"] = float(y["time"].min())
        d["follow_up_median"] = float(np.median(y["time"]))
        d["follow_up_max"] = float(y["time"].max())
    long = cohort.long_table
    if long is not None:
        lengths = long.lengths()
        d["n_longitudinal_rows"] = int(len(long.rows))
        d["n_longitudinal_features"] = len(long.features)
        d["rows_per_patient_median"] = float(np.median(lengths))
        d["patients_without_measurements"] = int((lengths == 0).sum())
    return d


def missingness_table(cohort: Cohort) -> pd.DataFrame:
    """Missing rate per feature (static and longitudinal), sorted from most missing.

    For longitudinal measurements the rate is over rows of the long table, and
    ``patients_never_measured`` counts patients with no observed value at all.
    """
    records = []
    static = cohort.static
    for col in static.columns:
        miss = static[col].isna()
        records.append({"feature": col, "table": "static", "missing_rate": float(miss.mean()),
                        "n_missing": int(miss.sum()), "patients_never_measured": int(miss.sum())})
    long = cohort.long_table
    if long is not None:
        for col in long.features:
            vals = long.values(col)
            miss = np.isnan(vals)
            observed = np.bincount(long.patient[~miss], minlength=long.n_patients)
            records.append({
                "feature": col, "table": "longitudinal",
                "missing_rate": float(miss.mean()) if len(miss) else 1.0,
                "n_missing": int(miss.sum()),
                "patients_never_measured": int((observed == 0).sum()),
            })
    table = pd.DataFrame.from_records(
        records, columns=["feature", "table", "missing_rate", "n_missing",
                          "patients_never_measured"])
    return table.sort_values(["missing_rate", "feature"], ascending=[False, True],
                             kind="stable").reset_index(drop=True)


_LABELS = {
    "n_patients": "patients", "task": "task", "n_static_features": "static features",
    "n_categorical": "categorical features", "label_rate": "label rate",
    "event_rate": "event rate", "censoring_rate": "censoring rate",
    "follow_up_min": "follow-up min", "follow_up_median": "follow-up median",
    "follow_up_max": "follow-up max", "n_longitudinal_rows": "longitudinal rows",
    "n_longitudinal_features": "longitudinal measurements",
    "rows_per_patient_median": "rows per patient (median)",
    "patients_without_measurements": "patients without measurements",
}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) >= 1000 or value == 0 else f"{value:.3f}"
    return html.escape(str(value))


def cohort_html(cohort: Cohort, max_missing_rows: int = 15) -> str:
    """Rich notebook representation: summary table plus the most-missing features."""
    d = describe_cohort(cohort)
    rows = "".join(
        f"<tr><th style='text-align:left'>{_LABELS.get(k, k)}</th><td>{_fmt(v)}</td></tr>"
        for k, v in d.items() if not isinstance(v, dict)
    )
    if "label_counts" in d:
        rows += ("<tr><th style='text-align:left'>label counts</th>"
                 f"<td>{_fmt(d['label_counts'])}</td></tr>")
    if "cause_counts" in d:
        rows += ("<tr><th style='text-align:left'>events per cause</th>"
                 f"<td>{_fmt(d['cause_counts'])}</td></tr>")
    miss = missingness_table(cohort)
    shown = miss.head(max_missing_rows).copy()
    shown["missing_rate"] = shown["missing_rate"].map(lambda v: f"{v:.1%}")
    more = (f"<p>{len(miss) - max_missing_rows} more features not shown; see "
            "<code>cohort.missingness()</code>.</p>" if len(miss) > max_missing_rows else "")
    return (
        "<div class='lightsaber-cohort'><strong>lightsaber Cohort</strong>"
        f"<table>{rows}</table><strong>Missingness</strong>"
        f"{shown.to_html(index=False, escape=True, border=0)}{more}</div>"
    )
