"""Old names of the architecture pass (0.1.0) still work, each with a DeprecationWarning.

Every entry of ``lightsaber._moved.MOVED`` and every renamed keyword is exercised, so a shim
that stops forwarding (or swallows the keyword it renames) fails here.
"""

from __future__ import annotations

import importlib
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from lightsaber._moved import MOVED, renamed_keywords

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("old", sorted(MOVED))
def test_every_old_module_path_imports_with_a_warning(old):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match="has moved to"):
        module = importlib.import_module(old)
    new = importlib.import_module(MOVED[old][0])
    names = [n for n in getattr(new, "__all__", [])][:5]
    assert names, f"{MOVED[old][0]} has no __all__ to forward"
    for name in names:
        assert getattr(module, name) is getattr(new, name)
    with pytest.raises(AttributeError, match="has no attribute"):
        module.no_such_name  # noqa: B018


def test_old_documented_names_resolve():
    for old in MOVED:
        sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning):
        from lightsaber.registry import load_pipeline, register_best  # noqa: F401
    from lightsaber.serving import load_pipeline as new

    assert load_pipeline is new
    with pytest.warns(DeprecationWarning):
        from lightsaber.training.pipeline import model_task, uses_sequences  # noqa: F401
    with pytest.warns(DeprecationWarning, match="ArgumentError"):
        from lightsaber.exceptions import ConfigurationError
    from lightsaber.exceptions import ArgumentError

    assert ConfigurationError is ArgumentError


def test_a_pipeline_pickled_under_the_old_path_loads():
    """A model logged before the move refers to lightsaber.training.pipeline.FittedPipeline."""
    code = (
        "import pickle, sys, lightsaber\n"
        "from lightsaber.serving.pipeline import FittedPipeline\n"
        "import lightsaber.serving.pipeline as new\n"
        "FittedPipeline.__module__ = 'lightsaber.training.pipeline'\n"
        "sys.modules['lightsaber.training.pipeline'] = new\n"
        "p = FittedPipeline(preprocessor=None, model=None, task='survival', flatten=None,\n"
        "                   sequences=False, id_column='id', time_column=None, static_columns=[])\n"
        "sys.stdout.buffer.write(pickle.dumps(p))\n")
    blob = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True,
                          cwd=ROOT).stdout
    assert b"lightsaber.training.pipeline" in blob
    sys.modules.pop("lightsaber.training.pipeline", None)
    with pytest.warns(DeprecationWarning):
        loaded = pickle.loads(blob)
    from lightsaber.serving.pipeline import FittedPipeline

    assert isinstance(loaded, FittedPipeline) and loaded.id_column == "id"


def test_renamed_keywords_forward_warn_and_refuse_both():
    from lightsaber.losses import cox_ph_loss, ranking_hinge_loss
    from lightsaber.metrics import SurvivalPrediction, antolini_c, d_calibration, survival_at_times

    duration, event = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 0.0, 1.0])
    risk = torch.tensor([0.5, -0.2, 0.1], dtype=torch.float64)
    for loss in (cox_ph_loss, ranking_hinge_loss):
        with pytest.warns(DeprecationWarning, match="'risk' is now 'prediction'"):
            old = loss(risk=risk, duration=duration, event=event)
        assert old.item() == loss(prediction=risk, duration=duration, event=event).item()
        with pytest.raises(TypeError, match="pass only 'prediction'"):
            loss(risk=risk, prediction=risk, duration=duration, event=event)

    grid = np.array([1.0, 2.0, 3.0])
    surv = np.array([[0.9, 0.6, 0.3], [0.8, 0.7, 0.6], [0.95, 0.5, 0.2]])
    with pytest.warns(DeprecationWarning):
        assert np.array_equal(survival_at_times(surv, time_grid=grid, times=[2.5]),
                              survival_at_times(surv, grid, [2.5]))
    from sksurv.util import Surv

    y = Surv.from_arrays([True, False, True], [1.5, 2.5, 2.8])
    with pytest.warns(DeprecationWarning):
        assert antolini_c(y, surv, time_grid=grid) == antolini_c(y, surv, grid)
    with pytest.warns(DeprecationWarning):
        assert d_calibration(y, surv, time_grid=grid, n_bins=2).statistic == \
            d_calibration(y, surv, grid, n_bins=2).statistic
    with pytest.warns(DeprecationWarning):
        p = SurvivalPrediction(risk=[1.0, 2.0, 3.0], survival=surv, time_grid=grid)
    assert np.array_equal(p.times, grid)
    with pytest.warns(DeprecationWarning):
        assert np.array_equal(p.time_grid, grid)


def test_a_net_takes_the_old_validation_keyword():
    from lightsaber.models import MLP, ClassifierNet

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3)).astype("float32")
    y = (X[:, 0] > 0).astype(int)
    net = ClassifierNet(MLP, module__hidden=(4,), max_epochs=2, progress=False)
    with pytest.warns(DeprecationWarning, match="'validation' is now 'val'"):
        net.fit(X[:40], y[:40], validation=(X[40:], y[40:]))
    assert "valid_loss" in net.history[-1]


def test_a_rename_to_itself_is_refused():
    with pytest.raises(ValueError, match="renamed to themselves"):
        renamed_keywords(times="times")
