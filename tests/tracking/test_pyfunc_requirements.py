"""The logged pyfunc states its pip requirements: no inference subprocess, installed pins."""

from __future__ import annotations

import warnings
from importlib import metadata

import mlflow
import mlflow.models
import mlflow.utils.environment
import mlflow.utils.requirements_utils
import numpy as np
import pytest
import yaml
from packaging.version import Version
from sklearn.linear_model import LogisticRegression

import lightsaber
import lightsaber as ls
from lightsaber.serving.pyfunc import PipelineModel, pip_requirements, save_pipeline_model

COMMON = ("mlflow", "cloudpickle", "lightsaber", "numpy", "pandas", "scipy", "scikit-learn",
          "scikit-survival")


def _installed(name: str) -> str:
    if name == "mlflow":
        return mlflow.__version__
    if name == "lightsaber":
        return lightsaber.__version__
    return Version(metadata.version(name)).public  # torch 2.x+cpu is pinned as 2.x


@pytest.fixture
def no_inference(monkeypatch):
    """Make every MLflow entry point of requirement inference fail loudly."""
    def refuse(*args, **kwargs):
        raise AssertionError("MLflow inferred pip requirements (a model-loading subprocess)")

    monkeypatch.setattr(mlflow.utils.requirements_utils, "_infer_requirements", refuse)
    monkeypatch.setattr(mlflow.utils.requirements_utils, "_capture_imported_modules", refuse)
    monkeypatch.setattr(mlflow.utils.environment, "_infer_requirements", refuse)
    monkeypatch.setattr(mlflow.utils.environment, "infer_pip_requirements", refuse)
    monkeypatch.setattr(mlflow.models, "infer_pip_requirements", refuse)


@pytest.fixture(scope="module")
def cox_pipeline():
    from lifelines.datasets import load_rossi
    from sksurv.linear_model import CoxPHSurvivalAnalysis

    frame = load_rossi()
    frame.insert(0, "pid", np.arange(len(frame)))
    cohort = ls.Cohort(frame, id="pid", duration="week", event="arrest")
    splits = cohort.split(val=0.2, test=0.2, seed=0)
    return _fit(CoxPHSurvivalAnalysis(), cohort, splits)


def _fit(model, cohort, splits):
    """An untracked pipeline; ``ls.fit``'s advice on small splits is not what is tested."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ls.fit(model, cohort, splits, track=False, metrics=None).pipeline


def _requirements(path) -> dict[str, str]:
    lines = (path / "requirements.txt").read_text().split()
    return dict(line.split("==") for line in lines)


def test_saved_survival_model_lists_installed_pins_without_inference(cox_pipeline, tmp_path,
                                                                    no_inference):
    save_pipeline_model(cox_pipeline, tmp_path / "model")
    model = tmp_path / "model"
    reqs = _requirements(model)
    assert reqs == {name: _installed(name) for name in COMMON}  # no torch for a Cox model
    assert (model / "requirements.txt").read_text().splitlines()[0].startswith("mlflow==")

    conda = yaml.safe_load((model / "conda.yaml").read_text())
    pip_deps = next(d["pip"] for d in conda["dependencies"] if isinstance(d, dict))
    assert sorted(pip_deps) == sorted(f"{k}=={v}" for k, v in reqs.items())
    python_env = yaml.safe_load((model / "python_env.yaml").read_text())
    assert python_env["dependencies"] == ["-r requirements.txt"]

    loaded = mlflow.pyfunc.load_model(str(model))
    example = cox_pipeline.example_frame()
    np.testing.assert_allclose(loaded.predict(example)["risk"],
                               cox_pipeline.predict_frame(example)["risk"])


def test_classifier_model_needs_no_torch(tmp_path, no_inference):
    cohort = ls.datasets.load_sample_mortality(n_patients=120)
    splits = cohort.split(val=0.2, test=0.2, stratify="label", seed=0)
    save_pipeline_model(_fit(LogisticRegression(max_iter=200), cohort, splits),
                        tmp_path / "model")
    reqs = _requirements(tmp_path / "model")
    assert set(reqs) == set(COMMON) and "torch" not in reqs


def test_net_pipeline_adds_torch_and_skorch(cox_pipeline):
    from lightsaber.models import MLP, SurvivalNet

    net = SurvivalNet(MLP, module__hidden=(4,), max_epochs=1, device="cpu")
    pipeline = cox_pipeline.__class__(**{**vars(cox_pipeline), "model": net})
    reqs = dict(r.split("==") for r in pip_requirements(PipelineModel(pipeline)))
    assert set(reqs) == {*COMMON, "torch", "skorch"}
    assert reqs["torch"] == _installed("torch") and "+" not in reqs["torch"]
    assert reqs["skorch"] == _installed("skorch")


def test_third_party_and_local_modules(monkeypatch):
    """A class from another installed distribution adds it; ``__main__`` adds nothing."""
    import packaging.version

    class Local:
        pass

    Local.__module__ = "__main__"
    names = {r.split("==")[0] for r in pip_requirements([packaging.version.Version("1.0"),
                                                         Local()])}
    assert names == {*COMMON, "packaging"}


def test_requirements_of_a_pipeline_holding_large_arrays():
    # Protocol-5 pickling hands the sink PickleBuffer objects (large NumPy arrays, e.g. a
    # random survival forest's trees): the module scan must accept them.
    import numpy as np

    from lightsaber.serving.pyfunc import pip_requirements

    names = [r.split("==")[0] for r in pip_requirements({"big": np.zeros(2_000_000)})]
    assert "numpy" in names
