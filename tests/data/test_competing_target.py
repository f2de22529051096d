"""The competing-risks target: codes, declared causes and the errors a user meets first."""

import numpy as np
import pandas as pd
import pytest

from lightsaber.data import check_competing_target, make_competing_target
from lightsaber.data.targets import COMPETING_DTYPE, is_competing_target, make_survival_target
from lightsaber.exceptions import TargetError

CAUSES = {1: "death", 2: "discharge"}


def test_builds_the_structured_array_from_columns_and_tuples():
    y = make_competing_target(pd.Series([0, 1, 2]), pd.Series([1.0, 2.5, 3]), causes=CAUSES)
    assert y.dtype == COMPETING_DTYPE and is_competing_target(y)
    assert y["status"].tolist() == [0, 1, 2] and y["time"].tolist() == [1.0, 2.5, 3.0]
    assert check_competing_target(y).tolist() == y.tolist()
    assert check_competing_target(([0, 1, 2], [1.0, 2.5, 3])).tolist() == y.tolist()
    assert check_competing_target(np.array([0, 1, 2]), [1.0, 2.5, 3]).tolist() == y.tolist()
    assert not is_competing_target(make_survival_target([0, 1], [1.0, 2.0]))


@pytest.mark.parametrize(("status", "message"), [
    ([0, 1, None], "has 1 missing value(s) (rows 2)"),
    ([0, 1.5, 2], "not integer codes"),
    (["alive", "dead", "dead"], "df[col].map({'alive': 0"),
    ([0, -1, 2], "1 negative code(s) ([-1]; rows 1)"),
    ([0, 0, 0], "all 3 samples are censored"),
])
def test_bad_status_codes_name_the_column_the_rows_and_the_fix(status, message):
    with pytest.raises(TargetError) as info:
        make_competing_target(status, [1.0, 2.0, 3.0], status_name="outcome")
    assert "'outcome'" in str(info.value) or "censored" in str(info.value)
    assert message in str(info.value)


def test_undeclared_and_unseen_causes():
    with pytest.raises(TargetError, match=r"2 row\(s\) with code 3, which is not a declared"):
        make_competing_target([0, 3, 3, 1], [1, 2, 3, 4], causes=CAUSES)
    with pytest.raises(TargetError, match=r"declared cause\(s\) \[2\] never occur"):
        make_competing_target([0, 1, 1], [1, 2, 3], causes=CAUSES, require_all_causes=True)
    make_competing_target([0, 1, 1], [1, 2, 3], causes=CAUSES)  # a test split may lack one
    with pytest.raises(TargetError, match="positive integer codes"):
        make_competing_target([0, 1], [1, 2], causes={0: "censored", 1: "death"})


def test_durations_and_shapes_are_checked_like_survival_targets():
    with pytest.raises(TargetError, match="negative"):
        make_competing_target([1, 0], [-1.0, 2.0])
    with pytest.raises(TargetError, match="3 rows but duration"):
        make_competing_target([1, 0, 2], [1.0, 2.0])
    with pytest.raises(TargetError, match="structured array"):
        check_competing_target(np.array([1, 0, 2]))


def test_single_event_checks_refuse_a_competing_target_with_the_fix():
    from lightsaber.data import check_survival_target

    with pytest.raises(TargetError, match=r"competing-risks target .*causes \[1, 2\]"):
        check_survival_target(make_competing_target([0, 1, 2], [1.0, 2.0, 3.0]))
