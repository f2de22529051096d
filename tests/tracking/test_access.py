"""The pre-flight and the 401/403 translation, without a server (the server tests are slow)."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.exceptions import MlflowException

from lightsaber.exceptions import RegistryError, TrackingError
from lightsaber.tracking.client import access_error, tracking_client
from lightsaber.tracking.lifecycle import check_access, tracked_run


def test_check_access_on_a_local_store(tmp_path: Path):
    client, uri = tracking_client(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert check_access(client, uri, "not-yet", need="edit") is None  # created on first write
    with tracked_run("exists", tracking_uri=uri):
        pass
    found = client.get_experiment_by_name("exists").experiment_id
    assert check_access(client, uri, "exists", need="edit") == found
    assert check_access(client, uri, "exists", need="read") == found


@pytest.mark.parametrize(("code", "words"), [("UNAUTHENTICATED", "not authenticated"),
                                             ("PERMISSION_DENIED", "permission denied")])
def test_401_and_403_name_server_resource_and_permission_never_the_password(code, words):
    from mlflow.protos import databricks_pb2

    err = MlflowException("denied", error_code=getattr(databricks_pb2, code))
    out = access_error(err, "https://alice:s3cret@mlflow.team:443", "experiment 'icu'", "EDIT",
                       RegistryError)
    assert isinstance(out, RegistryError)
    message = str(out)
    assert words in message and "experiment 'icu'" in message and "EDIT" in message
    assert "s3cret" not in message and "alice" not in message
    assert "mlflow.team" in message


def test_other_errors_are_not_translated():
    assert access_error(MlflowException("boom"), "http://h",
                        "x", "READ") is None
    assert access_error(ValueError("no"), "http://h", "x", "READ") is None


def test_the_preflight_runs_before_training(tmp_path: Path, monkeypatch):
    """ls.fit asks check_access before any training and stops there on a refusal."""
    import lightsaber as ls
    from lightsaber.tracking import lifecycle

    def refuse(client, uri, experiment, need="edit"):
        raise TrackingError(f"permission denied at {uri}: experiment {experiment!r} needs EDIT")

    monkeypatch.setattr(lifecycle, "check_access", refuse)
    cohort = ls.datasets.load_sample_mortality(n_patients=120)
    splits = cohort.split(val=0.2, test=0.2, stratify="label", seed=0)

    from sklearn.linear_model import LogisticRegression

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with pytest.raises(TrackingError, match="needs EDIT"):
        ls.fit(LogisticRegression(), cohort, splits, experiment="icu", tracking_uri=uri,
               progress=False)
    client, _ = tracking_client(uri)
    assert client.get_experiment_by_name("icu") is None  # nothing written
