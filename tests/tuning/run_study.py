"""A 20-trial TPE study as a separate process (killed and resumed by test_resume.py).

Usage: python -m tests.tuning.run_study TRACKING_URI STUDY_NAME RESULT_JSON
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")


def main() -> None:
    uri, name, out = sys.argv[1:4]
    from lightsaber.tuning import tune
    from tests.tuning.helpers import SPACE, fast_model, small_cohort, small_splits

    cohort = small_cohort()
    result = tune(fast_model(), cohort, small_splits(cohort), SPACE, algorithm="tpe",
                  max_trials=20, seed=11, study_name=name, tracking_uri=uri,
                  experiment="resume", refit=False, progress=False)
    with open(out, "w") as sink:
        json.dump({"n": len(result.trials), "run_id": result.run_id,
                   "best": result.best_value}, sink)


if __name__ == "__main__":
    main()
