"""``cox_ph_loss(..., entry=)``: delayed entry (left truncation) and counting-process rows.

References
----------
* ``_brute_force``: the partial log-likelihood from its definition, risk sets
  ``{j : entry_j < t <= duration_j}`` built by comparison at every distinct event time (float64,
  O(n^2)), Breslow and Efron, with strata. Its Breslow score and information give a Newton
  fit, the Breslow reference (lifelines only fits Efron).
* lifelines 0.30 ``CoxPHFitter().fit(df, "stop", "event", entry_col="start", strata=...)``
  (Efron; it builds the same risk sets, ``start < t <= stop``), on PBC2 as counting-process
  data: one row per interval between visits, ``(visit_k, visit_k+1]``, the last interval ending
  at death or censoring, with the labs measured at ``visit_k`` (time-varying covariates).
  Measured on that data (1,945 rows, 140 deaths): ``log_likelihood_`` vs our loss at
  lifelines' coefficients 1.3e-12, coefficients vs ours (LBFGS) 4.4e-9, with or without strata
  and on a copy with times rounded to 0.25 years (96 tied death times; 1,578 entries equal to a
  death time, which the strict ``entry < t`` leaves out of that time's risk set).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp

from lightsaber.losses import LossInputError, cox_ph_loss
from lightsaber.losses import _partial_likelihood as core
from tests.conftest import shared_file
from tests.losses._reference import fit_linear

COVARIATES = ["log_bilirubin", "albumin", "age", "log_prothrombin"]


def _brute_force(risk, time, event, entry, ties: str, strata=None) -> float:
    risk, time, entry = (np.asarray(a, dtype=np.float64) for a in (risk, time, entry))
    event = np.asarray(event, dtype=bool)
    strata = np.zeros(len(risk)) if strata is None else np.asarray(strata)
    total = 0.0
    for stratum in np.unique(strata):
        inside = strata == stratum
        for t in np.unique(time[inside & event]):
            dead = inside & event & (time == t)
            at_risk = inside & (entry < t) & (time >= t)
            m = int(dead.sum())
            log_d = logsumexp(risk[at_risk])
            total += risk[dead].sum()
            if ties == "breslow":
                total -= m * log_d
            else:
                log_t = logsumexp(risk[dead])
                for rank in range(m):
                    total -= log_d + np.log1p(-(rank / m) * np.exp(log_t - log_d))
    return total


def _breslow_newton(x, time, event, entry, strata) -> np.ndarray:
    """Breslow MLE by Newton-Raphson on brute-force score and information."""
    beta = np.zeros(x.shape[1])
    for _ in range(50):
        score, information = np.zeros_like(beta), np.zeros((beta.size, beta.size))
        eta = x @ beta
        for stratum in np.unique(strata):
            inside = strata == stratum
            for t in np.unique(time[inside & event]):
                dead = inside & event & (time == t)
                at_risk = inside & (entry < t) & (time >= t)
                w = np.exp(eta[at_risk] - eta[at_risk].max())
                w /= w.sum()
                mean = w @ x[at_risk]
                centred = x[at_risk] - mean
                m = int(dead.sum())
                score += x[dead].sum(axis=0) - m * mean
                information += m * (centred.T * w) @ centred
        step = np.linalg.solve(information, score)
        beta += step
        if np.abs(step).max() < 1e-13:
            break
    return beta


def _batch(seed: int):
    """Tied integer times, entries on the same grid (some equal to event times), some -inf."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 90))
    time = rng.integers(1, 12, n).astype(float)
    entry = time - rng.integers(1, 6, n)
    entry[rng.random(n) < 0.3] = -np.inf
    event = rng.random(n) < 0.6
    risk = rng.normal(size=n) * rng.uniform(0.1, 4.0)
    strata = rng.integers(0, 3, n) if seed % 2 else None
    return risk, time, event, entry, strata


def _loss(risk, time, event, entry, ties, strata=None, reduction="sum", dtype=torch.float64):
    return cox_ph_loss(torch.as_tensor(risk, dtype=dtype), torch.as_tensor(time),
                       torch.as_tensor(event), entry=None if entry is None else
                       torch.as_tensor(entry), ties=ties,
                       strata=None if strata is None else torch.as_tensor(strata),
                       reduction=reduction)


@pytest.fixture
def exact_path(monkeypatch):
    """Refuse every subtraction, so that every batch takes :func:`core.entry_tree`."""
    monkeypatch.setattr(core, "_CANCELLATION", 0.0)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
@pytest.mark.parametrize("seed", range(30))
def test_equals_brute_force_with_ties_strata_and_infinite_entries(seed, ties):
    risk, time, event, entry, strata = _batch(seed)
    expected = _brute_force(risk, time, event, entry, ties, strata)
    ours = -_loss(risk, time, event, entry, ties, strata).item()
    assert ours == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
@pytest.mark.parametrize("seed", range(12))
def test_exact_path_equals_brute_force(seed, ties, exact_path):
    risk, time, event, entry, strata = _batch(seed)
    expected = _brute_force(risk, time, event, entry, ties, strata)
    assert -_loss(risk, time, event, entry, ties, strata).item() == pytest.approx(
        expected, rel=1e-12, abs=1e-12)
    # risks spread by more than 600: the exact path sums in log space
    wide = risk * 400.0
    assert -_loss(wide, time, event, entry, ties, strata).item() == pytest.approx(
        _brute_force(wide, time, event, entry, ties, strata), rel=1e-12, abs=1e-9)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_cancelling_batch_falls_back_to_the_exact_path(ties):
    """High risks entering late beside a small early risk set: the subtraction would cancel."""
    time = np.array([1.0, 1.0, 2.0, 5.0, 5.0, 6.0])
    entry = np.array([0.0, 0.0, 0.0, 3.0, 3.0, 4.0])
    event = np.array([True, True, False, True, False, True])
    risk = np.array([-3.0, -2.0, -4.0, 40.0, 41.0, 39.0])
    sorted_order = np.argsort(-time, kind="stable")
    tensor = torch.tensor(risk[sorted_order])
    blocks = core.tie_blocks(torch.tensor(time[sorted_order]), torch.tensor(event[sorted_order]))
    assert core.with_entry(tensor, torch.tensor(time[sorted_order]),
                           torch.tensor(entry[sorted_order]), blocks, ties == "efron") is None
    expected = _brute_force(risk, time, event, entry, ties)
    assert -_loss(risk, time, event, entry, ties).item() == pytest.approx(expected, rel=1e-13)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), below=st.sampled_from([-np.inf, -1.0, 0.0, 0.999]),
       ties=st.sampled_from(["breslow", "efron"]),
       dtype=st.sampled_from([torch.float32, torch.float64]))
def test_entry_before_every_time_equals_no_entry(seed, below, ties, dtype):
    """``entry`` below every duration (all -inf, or any constant < min time) changes nothing."""
    risk, time, event, _, strata = _batch(seed % 10_000)
    entry = np.full(time.shape, below)  # times are >= 1
    for reduction in ("mean", "sum"):
        values, gradients = [], []
        for given_entry in (None, entry):
            tensor = torch.tensor(risk, dtype=dtype, requires_grad=True)
            loss = cox_ph_loss(tensor, torch.tensor(time), torch.tensor(event),
                               entry=given_entry, ties=ties, reduction=reduction,
                               strata=None if strata is None else torch.tensor(strata))
            loss.backward()
            values.append(loss.item())
            gradients.append(tensor.grad.numpy())
        tol = 1e-5 if dtype == torch.float32 else 1e-12
        assert values[1] == pytest.approx(values[0], rel=tol, abs=tol)
        np.testing.assert_allclose(gradients[1], gradients[0], rtol=tol, atol=tol)


def test_splitting_a_row_into_counting_process_intervals_changes_nothing():
    """``(0, t]`` = ``(0, s] + (s, t]`` for a constant covariate, the event on the last piece."""
    rng = np.random.default_rng(3)
    n = 50
    time = rng.exponential(size=n) + 0.1
    event = rng.random(n) < 0.7
    risk = rng.normal(size=n)
    split = rng.random(n) < 0.5
    cut = time * rng.uniform(0.1, 0.9, n)
    rows = np.r_[np.arange(n), np.flatnonzero(split)]
    start = np.r_[np.zeros(n), cut[split]]
    stop = np.r_[np.where(split, cut, time), time[split]]
    status = np.r_[event & ~split, event[split]]
    for ties in ("breslow", "efron"):
        whole = _loss(risk, time, event, np.zeros(n), ties).item()
        pieces = _loss(risk[rows], stop, status, start, ties).item()
        assert pieces == pytest.approx(whole, rel=1e-13)


@pytest.mark.parametrize("exact", [False, True])
@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_gradcheck_float64(ties, exact, monkeypatch):
    if exact:
        monkeypatch.setattr(core, "_CANCELLATION", 0.0)
    risk, time, event, entry, strata = _batch(5)
    time, event, entry = torch.tensor(time), torch.tensor(event), torch.tensor(entry)
    strata = torch.tensor(strata)
    for scale in (1.0, 400.0):  # 400: spread > 600, the exact path sums in log space
        start = torch.tensor(risk * scale, requires_grad=True)
        assert torch.autograd.gradcheck(
            lambda r: cox_ph_loss(r, time, event, entry=entry, ties=ties, strata=strata),
            (start,), eps=1e-6, atol=1e-8)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_float32_and_mean_reduction(ties):
    risk, time, event, entry, strata = _batch(7)
    expected = _brute_force(risk, time, event, entry, ties, strata)
    mean = _loss(risk, time, event, entry, ties, strata, "mean", torch.float32)
    assert mean.dtype == torch.float32
    assert mean.item() == pytest.approx(-expected / event.sum(), rel=1e-6)
    # integer times and entries of another dtype: compared exactly after promotion
    ints = cox_ph_loss(torch.tensor(risk), torch.tensor(time.astype(np.int64)),
                       torch.tensor(event), entry=torch.tensor(np.maximum(entry, -1)).float(),
                       ties=ties, strata=torch.tensor(strata), reduction="sum")
    assert -ints.item() == pytest.approx(
        _brute_force(risk, time, event, np.maximum(entry, -1), ties, strata), rel=1e-12)


def test_no_event_gives_a_connected_zero():
    risk = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    loss = cox_ph_loss(risk, [1.0, 2.0, 3.0], [0, 0, 0], entry=[0.0, 0.5, 2.5])
    loss.backward()
    assert loss.item() == 0.0
    assert risk.grad.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("entry, count", [([0.0, 2.0, 0.0], 1), ([0.0, 2.5, 3.0], 2),
                                          ([np.nan, 0.0, np.inf], 2)])
def test_entry_not_before_duration_is_refused(entry, count):
    with pytest.raises(LossInputError, match=rf"entry must be earlier than duration.*"
                                             rf"{count} row\(s\).*add a small offset"):
        cox_ph_loss(torch.zeros(3), [1.0, 2.0, 3.0], [1, 1, 1], entry=torch.tensor(entry))


def test_entry_of_the_wrong_shape_or_type_is_refused():
    with pytest.raises(LossInputError, match=r"entry must have shape \(3,\)"):
        cox_ph_loss(torch.zeros(3), [1.0, 2.0, 3.0], [1, 1, 1], entry=[0.0, 0.0])
    with pytest.raises(LossInputError, match="entry must be real numbers"):
        cox_ph_loss(torch.zeros(3), [1.0, 2.0, 3.0], [1, 1, 1],
                    entry=torch.zeros(3, dtype=torch.bool))


def test_empty_risk_set_guard():
    """Unreachable through ``cox_ph_loss`` (it checks entry < duration); guarded anyway."""
    time, event = torch.tensor([2.0, 1.0]), torch.tensor([True, True])
    blocks = core.tie_blocks(time, event)
    with pytest.raises(LossInputError, match="empty risk set"):
        core.entry_tree(torch.zeros(2), time, torch.tensor([1.0, 1.0]), blocks, False)


def _pbc2_counting_process(grid: float | None = None) -> pd.DataFrame:
    """PBC2 as ``(start, stop]`` rows between visits; ``grid`` rounds times (outward) to it."""
    frame = pd.read_csv(shared_file("data", "auton", "pbc2.csv"))
    frame = frame.sort_values(["id", "year"], kind="stable")
    stop = frame.groupby("id")["year"].shift(-1).fillna(frame["years"]).to_numpy()
    last = (frame.groupby("id").cumcount(ascending=False) == 0).to_numpy()
    data = pd.DataFrame({
        "start": frame["year"].to_numpy(), "stop": stop,
        "event": (frame["status2"].to_numpy() * last).astype(int),
        "log_bilirubin": np.log(frame["serBilir"].to_numpy()),
        "albumin": frame["albumin"].to_numpy(), "age": frame["age"].to_numpy(),
        "log_prothrombin": np.log(frame["prothrombin"].to_numpy()),
        "male": (frame["sex"] == "male").astype(int).to_numpy()})
    for column in COVARIATES:
        data[column] = (data[column] - data[column].mean()) / data[column].std()
    if grid is not None:
        data["start"] = np.floor(data["start"] / grid) * grid
        data["stop"] = np.ceil(data["stop"] / grid) * grid
    assert (data["start"] < data["stop"]).all()
    return data


def _tensors(data: pd.DataFrame, stratified: bool):
    return (torch.tensor(data[COVARIATES].to_numpy()), torch.tensor(data["stop"].to_numpy()),
            torch.tensor(data["event"].to_numpy()), torch.tensor(data["start"].to_numpy()),
            torch.tensor(data["male"].to_numpy()) if stratified else None)


@pytest.mark.parametrize("stratified", [False, True])
@pytest.mark.parametrize("grid", [None, 0.25])
def test_pbc2_counting_process_matches_lifelines_efron(grid, stratified):
    from lifelines import CoxPHFitter

    data = _pbc2_counting_process(grid)
    x, stop, event, start, strata = _tensors(data, stratified)
    if grid is not None:
        deaths = data.loc[data["event"] == 1, "stop"]
        assert deaths.duplicated().sum() > 50 and data["start"].isin(deaths).sum() > 1000
    columns = [*COVARIATES, "start", "stop", "event", *(["male"] if stratified else [])]
    reference = CoxPHFitter().fit(data[columns], "stop", "event", entry_col="start",
                                  strata=["male"] if stratified else None,
                                  fit_options={"precision": 1e-12})
    beta = torch.tensor(reference.params_[COVARIATES].to_numpy())

    def loss(b):
        return cox_ph_loss(x @ b, stop, event, entry=start, ties="efron", strata=strata,
                           reduction="sum")

    assert -loss(beta).item() == pytest.approx(reference.log_likelihood_, rel=0, abs=1e-6)
    ours = fit_linear(loss, len(COVARIATES)).numpy()
    np.testing.assert_allclose(ours, beta.numpy(), rtol=0, atol=1e-6)
    # the fast subtraction serves this data; the exact path agrees with it
    order = torch.argsort(stop, descending=True, stable=True)
    blocks = core.tie_blocks(stop[order], event[order].bool())
    if strata is None:
        fast = core.with_entry((x @ beta)[order], stop[order], start[order], blocks, True)
        exact = core.entry_tree((x @ beta)[order], stop[order], start[order], blocks, True)
        assert fast is not None
        assert fast.item() == pytest.approx(exact.item(), rel=1e-13)


@pytest.mark.parametrize("stratified", [False, True])
def test_pbc2_counting_process_breslow_matches_newton_on_brute_force(stratified):
    data = _pbc2_counting_process(0.25)
    x, stop, event, start, strata = _tensors(data, stratified)
    groups = data["male"].to_numpy() if stratified else np.zeros(len(data))
    reference = _breslow_newton(x.numpy(), stop.numpy(), event.numpy().astype(bool),
                                start.numpy(), groups)

    def loss(b):
        return cox_ph_loss(x @ b, stop, event, entry=start, ties="breslow", strata=strata,
                           reduction="sum")

    ours = fit_linear(loss, len(COVARIATES)).numpy()
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-6)
    expected = _brute_force((x @ torch.tensor(reference)).numpy(), stop, event.bool(), start,
                            "breslow", groups)
    assert -loss(torch.tensor(reference)).item() == pytest.approx(expected, rel=0, abs=1e-9)
