import numpy as np
import pandas as pd
import pytest
from sksurv.util import Surv

from lightsaber.data.targets import SURVIVAL_DTYPE, check_label, check_survival_target
from lightsaber.exceptions import LightsaberError, TargetError


def test_survival_target_matches_sksurv_surv_arrays():
    y = check_survival_target([1, 0, True], [1.5, 2, 3])
    ref = Surv.from_arrays(event=[True, False, True], time=[1.5, 2, 3])
    assert y.dtype == SURVIVAL_DTYPE
    assert y.dtype.names == ref.dtype.names
    np.testing.assert_array_equal(y["event"], ref["event"])
    np.testing.assert_array_equal(y["time"], ref["time"])


def test_structured_array_is_accepted_as_is():
    ref = Surv.from_arrays(event=[True, False], time=[4.0, 2.0], name_event="status",
                           name_time="days")
    y = check_survival_target(ref)
    assert y["event"].tolist() == [True, False]
    assert y["time"].tolist() == [4.0, 2.0]


@pytest.mark.parametrize(
    ("event", "time", "fragment"),
    [
        ([1, 2, 0], [1, 2, 3], "must be binary"),
        ([1, np.nan, 0], [1, 2, 3], "missing value"),
        ([1, 0, 0], [1, -2, 3], "negative value"),
        ([1, 0, 0], [1, np.nan, 3], "missing or infinite"),
        ([1, 0, 0], [1, np.inf, 3], "missing or infinite"),
        ([1, 0, 0], ["1", "x", "3"], "non-numeric"),
        ([0, 0, 0], [1, 2, 3], "all 3 samples are censored"),
        ([1, 0], [1, 2, 3], "has 2 rows but duration"),
    ],
)
def test_survival_target_errors(event, time, fragment):
    with pytest.raises(TargetError, match=fragment) as info:
        check_survival_target(event, time, event_name="died", duration_name="days")
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, LightsaberError)


def test_error_names_the_column_and_count():
    with pytest.raises(TargetError) as info:
        check_survival_target(pd.Series([1, 0, 3, 4]), [1, 2, 3, 4], event_name="status")
    msg = str(info.value)
    assert "'status'" in msg and "2 row(s)" in msg and "['3', '4']" in msg


def test_all_censored_can_be_allowed_for_small_splits():
    y = check_survival_target([0, 0], [1, 2], allow_all_censored=True)
    assert not y["event"].any()


def test_label_single_class_and_missing():
    with pytest.raises(TargetError, match="single class"):
        check_label([1, 1, 1], name="hospdead")
    with pytest.raises(TargetError, match="1 missing"):
        check_label([1, None, 0], name="hospdead")
    assert check_label([True, False]).tolist() == [1, 0]
    assert check_label(["a", "b", "a"]).tolist() == ["a", "b", "a"]
