"""A cohort with competing causes: declaration, checks, description and splits."""

import numpy as np
import pandas as pd
import pytest

from lightsaber.data import Cohort
from lightsaber.exceptions import TargetError

CAUSES = {1: "death", 2: "discharge"}


def _frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"pid": [f"p{i}" for i in range(n)], "age": rng.normal(60, 10, n),
                         "days": rng.exponential(10, n).round(1),
                         "status": rng.choice([0, 1, 2], n, p=[0.5, 0.15, 0.35])})


def test_declared_causes_give_a_competing_task_with_per_cause_counts():
    df = _frame()
    cohort = Cohort(df, id="pid", duration="days", event="status", causes=CAUSES)
    assert cohort.task == "competing" and cohort.causes == CAUSES
    assert cohort.target()["status"].tolist() == df["status"].tolist()
    d = cohort.describe()
    assert d["cause_counts"] == {"death": int((df.status == 1).sum()),
                                 "discharge": int((df.status == 2).sum())}
    assert d["censored"] == int((df.status == 0).sum())
    assert "death" in repr(cohort) and "events per cause" in cohort._repr_html_()
    assert cohort.subset(np.arange(10)).causes == CAUSES
    assert cohort.filter("age > 60").task == "competing"


def test_a_single_event_target_of_a_competing_cohort_is_refused_with_the_fix():
    cohort = Cohort(_frame(), id="pid", duration="days", event="status", causes=[1, 2])
    assert cohort.causes == {1: "cause1", 2: "cause2"}
    with pytest.raises(TargetError, match="over-state risk. Use a competing-risks model"):
        _ = cohort.y_survival
    with pytest.raises(TargetError, match="declares no competing causes"):
        _ = Cohort(_frame().assign(status=lambda f: (f.status > 0).astype(int)), id="pid",
                   duration="days", event="status").y_competing


@pytest.mark.parametrize(("causes", "change", "message"), [
    ({1: "death"}, None, r"3 row\(s\)|row\(s\) with code 2, which is not a declared cause"),
    ({1: "death", 2: "discharge", 3: "transfer"}, None, r"declared cause\(s\) \[3\] never occur"),
    (CAUSES, {"status": -1}, "negative code"),
    ({1: "death", 2: "dis charge"}, None, "names become part of metric names"),
    ({0: "alive", 1: "death"}, None, "must be a positive integer"),
])
def test_bad_declarations_name_the_code_and_the_fix(causes, change, message):
    df = _frame()
    if change:
        df.loc[3, "status"] = change["status"]
    with pytest.raises(TargetError, match=message):
        Cohort(df, id="pid", duration="days", event="status", causes=causes)


def test_causes_without_an_event_column_is_an_error():
    with pytest.raises(TargetError, match="declare `duration=` and `event=`"):
        Cohort(_frame(), id="pid", label="status", classes=[0, 1, 2], causes=CAUSES)


def test_splits_stratify_by_cause_and_record_per_cause_rates():
    cohort = Cohort(_frame(1000), id="pid", duration="days", event="status", causes=CAUSES)
    splits = cohort.split(val=0.2, test=0.2, stratify="event", seed=3)
    status = cohort.y_competing["status"]
    overall = {code: float((status == code).mean()) for code in CAUSES}
    for part in ("train", "val", "test"):
        pos = splits.indices[part]
        for code, rate in overall.items():
            assert abs(float((status[pos] == code).mean()) - rate) < 0.01, (part, code)
    train = splits.manifest["splits"]["train"]
    assert set(train["cause_rates"]) == {"death", "discharge"}
    pos = splits.indices["train"]
    assert train["cause_rates"]["death"] == pytest.approx(float((status[pos] == 1).mean()))
    assert train["n_events"] == int((status[pos] > 0).sum())


def test_the_sample_cohort_has_death_versus_discharge():
    from lightsaber.data.datasets import load_sample_mortality

    cohort = load_sample_mortality(competing=True)
    binary = load_sample_mortality()
    status = cohort.y_competing["status"]
    assert cohort.task == "competing" and cohort.causes == {1: "death", 2: "discharge"}
    assert ((status == 1) == binary.y_survival["event"]).all() and (status > 0).all()
    assert "died_in_hospital" not in cohort.feature_names and "status" not in cohort.feature_names
    assert cohort.feature_names == binary.feature_names


def test_pbc2_death_versus_transplant():
    import lightsaber as ls
    from tests.conftest import shared_file

    path = shared_file("data", "auton", "pbc2.csv")
    cohort = ls.datasets.load_pbc2(path, competing=True)
    status = cohort.y_competing["status"]
    assert cohort.causes == {1: "death", 2: "transplant"}
    assert np.bincount(status).tolist() == [143, 140, 29]
    single = ls.datasets.load_pbc2(path)
    assert ((status == 1) == single.y_survival["event"]).all()  # status2 censors transplants
    assert "status" not in cohort.feature_names and cohort.feature_names == single.feature_names
