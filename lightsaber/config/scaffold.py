"""``lightsaber init``: a new experiment folder with a working config on the sample data."""

from __future__ import annotations

import shutil
from pathlib import Path

from lightsaber.exceptions import ConfigError

__all__ = ["CONFIG_NAME", "TEMPLATE", "scaffold"]

CONFIG_NAME = "experiment.yaml"

TEMPLATE = """\
# A lightsaber experiment: in-hospital mortality on the synthetic sample cohort in data/.
#
#   lightsaber validate experiment.yaml            # check it without running anything
#   lightsaber fit experiment.yaml                 # fit, evaluate and track it in MLflow
#   lightsaber fit experiment.yaml split.seed=3    # any key.path=value overrides the file
#
# Every key is documented in docs/config.md of lightsaber; unknown keys are errors.
name: mortality-logistic
seed: 0

data:                                  # files are relative to this config file
  static: data/mortality_static.csv
  longitudinal: data/mortality_vitals.parquet
  id: patient_id
  time: hour
  label: died_in_hospital
  exclude: [los_days]                  # known only at discharge: an outcome leak

split:
  val: 0.15
  test: 0.15
  stratify: label
  seed: 7

preprocess:
  flatten: [last, mean, min, max, count]   # 48 h of vitals -> static aggregates
  flatten_window: [0, 48]

model:
  _target_: sklearn.linear_model.LogisticRegression
  max_iter: 2000
  # A GRU over the hourly vitals instead (also set preprocess.sequence.grid: [0, 48, 1],
  # and trainer.early_stopping: 5 -- a logistic regression has no epochs to stop):
  # _target_: lightsaber.models.ClassifierNet
  # network: {_target_: lightsaber.models.SequenceNet, hidden_size: 32}

trainer: {}

metrics: [auc_roc, auc_pr, brier, ece]

tracking:
  experiment: mortality              # runs go to ./mlflow.db unless MLFLOW_TRACKING_URI is set
"""


def scaffold(directory: str | Path, *, force: bool = False) -> Path:
    """Write ``experiment.yaml`` and the sample data into ``directory``; returns the config.

    Examples
    --------
    >>> import tempfile
    >>> path = scaffold(tempfile.mkdtemp())
    >>> path.name, sorted(p.name for p in (path.parent / "data").iterdir())
    ('experiment.yaml', ['mortality_static.csv', 'mortality_vitals.parquet'])
    """
    from lightsaber.data.datasets import SAMPLE_DIR, SAMPLE_STATIC, SAMPLE_VITALS

    folder = Path(directory)
    config = folder / CONFIG_NAME
    if config.exists() and not force:
        raise ConfigError.at(str(config), "already exists", allowed="another folder or --force")
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    if (SAMPLE_DIR / SAMPLE_STATIC).exists() and (SAMPLE_DIR / SAMPLE_VITALS).exists():
        shutil.copyfile(SAMPLE_DIR / SAMPLE_STATIC, data / SAMPLE_STATIC)
        shutil.copyfile(SAMPLE_DIR / SAMPLE_VITALS, data / SAMPLE_VITALS)
    else:  # an installed package without the repository's data_samples/
        from lightsaber.data.synthetic import make_mortality_cohort

        static, vitals = make_mortality_cohort(n_patients=2000, seed=0)
        static.to_csv(data / SAMPLE_STATIC, index=False)
        vitals.to_parquet(data / SAMPLE_VITALS, index=False)
    config.write_text(TEMPLATE)
    return config
