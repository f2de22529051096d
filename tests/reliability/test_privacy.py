"""Privacy: with default settings, no patient identifier or distinctive value leaves the process.

A cohort gets distinctive ids and a few distinctive feature values (an extreme number, a rare
category). It is fitted, tuned (when :mod:`lightsaber.tuning` is installed), reported and
predicted from with default settings; then every byte written (the MLflow database and its side
files, all artifacts, the report HTML, the predictions file, captured logs and output, and the
messages of typical errors) is searched for those values, as UTF-8/UTF-16 text and as raw
float64/float32 bytes.

Exception by design: the predictions file starts with the id column the user passed in (that is
how predictions are matched back to patients). It is checked to hold ids *only* in that column.
"""

from __future__ import annotations

import logging
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import lightsaber as ls
from lightsaber.exceptions import LightsaberError
from lightsaber.serving import predict_file
from tests.tracking.privacy import scan_tracking_store

N = 60
IDS = [f"PRIV-{i:03d}-QZX" for i in range(N)]
EXTREME_AGE = 117.31415  # patient 5 only: the maximum, never a median
EXTREME_LAB = -987.654321  # patient 9 only: the minimum
RARE_WARD = "WARD-RARE-ZK7"  # patient 12 only


#: Positions of the patients holding the distinctive values: all in the train split (checked),
#: so the fitted preprocessing and model could in principle remember them.
EXTREME_AGE_AT, EXTREME_LAB_AT, RARE_WARD_AT = 1, 2, 3


def _cohort_frame() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({
        "pid": IDS,
        "age": rng.integers(30, 90, N).astype(float),
        "lab": rng.normal(size=N).round(3),
        "ward": rng.choice(["north", "south", "east"], N),
        "label": (np.arange(N) % 2).astype(int),
    })
    frame.loc[EXTREME_AGE_AT, "age"] = EXTREME_AGE
    frame.loc[EXTREME_LAB_AT, "lab"] = EXTREME_LAB
    frame.loc[RARE_WARD_AT, "ward"] = RARE_WARD
    return frame


def _binary_hits(paths: list[Path], values: list[float]) -> list[str]:
    patterns = [(v, struct.pack("<d", v)) for v in values]
    patterns += [(v, struct.pack("<f", v)) for v in values]
    hits = []
    for root in paths:
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        for file in files:
            data = file.read_bytes()
            hits.extend(f"{file}: {v}" for v, raw in patterns if raw in data)
    return hits


@pytest.mark.slow
def test_nothing_row_level_is_written_with_default_settings(
        store: Path, store_uri: str, tmp_path_factory: pytest.TempPathFactory, caplog, capsys,
        monkeypatch):
    caplog.set_level(logging.DEBUG)
    work = tmp_path_factory.mktemp("privacy-work")
    monkeypatch.chdir(work)
    frame = _cohort_frame()
    cohort = ls.Cohort(frame, id="pid", label="label")
    splits = cohort.split(val=0.25, test=0.25, stratify="label", seed=0)
    assert {EXTREME_AGE_AT, EXTREME_LAB_AT, RARE_WARD_AT} <= set(splits.indices["train"])
    experiment = "privacy"

    run = ls.fit(LogisticRegression(max_iter=500), cohort, splits, experiment=experiment,
                 tracking_uri=store_uri, progress=False)
    tuning = _tuning()  # scanned too when the tuning package is installed
    if tuning is not None:
        tuning.tune(LogisticRegression(max_iter=500), cohort, splits,
                    {"C": tuning.Choice([0.1, 1.0])},
                    algorithm="grid", max_trials=2, experiment=experiment,
                    tracking_uri=store_uri, progress=False)

    from lightsaber.reports import write_report

    report = write_report(work / "report.html", experiment=experiment, tracking_uri=store_uri)
    predictions = predict_file(run.run_id, run.pipeline.input_frame(cohort),
                               work / "predictions.csv", tracking_uri=store_uri)

    messages = []
    for bad in (frame.assign(pid=[IDS[0]] * N),  # duplicated ids
                frame.assign(label=np.where(np.arange(N) == 3, np.nan, frame["label"])),
                frame.assign(age=frame["age"].astype(object).where(np.arange(N) != 5, "n/a"))):
        with pytest.raises(LightsaberError) as info:
            ls.Cohort(bad, id="pid", label="label")
        messages.append(str(info.value))
    with pytest.raises(LightsaberError) as info:
        ls.serving.predict_cohort(run.pipeline, run.pipeline.input_frame(cohort).drop(
            columns="age"))
    messages.append(str(info.value))
    captured = capsys.readouterr()
    text_out = work / "captured.txt"
    text_out.write_text("\n".join([*messages, caplog.text, captured.out, captured.err]))

    # The predictions file holds ids in its id column only (by design); drop it, scan the rest.
    written = pd.read_csv(predictions)
    if "pid" in written.columns:
        assert written.columns[0] == "pid" and written["pid"].tolist() == IDS
        written = written.drop(columns="pid")
    written.to_csv(work / "predictions_without_ids.csv", index=False)
    predictions.unlink()

    needles = [*IDS, repr(EXTREME_AGE), repr(EXTREME_LAB)]
    scanned = [store, report, work]
    assert scan_tracking_store(scanned, needles) == []
    assert _binary_hits(scanned, [EXTREME_AGE, EXTREME_LAB]) == []
    # Known limitation (docs/reliability.md): category labels seen in training are part of the
    # fitted encoder, so a rare one is inside the pickled model, and nowhere else.
    rare = scan_tracking_store(scanned, [RARE_WARD])
    assert rare and all(hit.split(":")[0].endswith("/model/python_model.pkl") for hit in rare)
    assert any(store.rglob("*.json")) and report.stat().st_size > 1000  # something was scanned


def _tuning():
    try:
        import lightsaber.tuning as tuning
    except ImportError:
        return None
    return tuning
