"""MLflow's artifact progress bars, switched off for the duration of a lightsaber call.

MLflow draws a tqdm bar ("Downloading artifacts") on stderr for every
``download_artifacts`` call, which for lightsaber's small, file-by-file downloads is noise.
MLflow reads its switch, the environment variable ``MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR``,
each time it creates a bar, so :func:`quiet_artifact_downloads` sets it to ``false`` inside the
``with`` block only and puts the previous value (or its absence) back afterwards: a user's own
``download_artifacts`` calls outside lightsaber keep their bars.

Examples
--------
>>> import os
>>> before = os.environ.get(PROGRESS_BAR_VARIABLE)
>>> with quiet_artifact_downloads():
...     os.environ[PROGRESS_BAR_VARIABLE]
'false'
>>> os.environ.get(PROGRESS_BAR_VARIABLE) == before
True
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["PROGRESS_BAR_VARIABLE", "quiet_artifact_downloads"]

#: MLflow's switch for its artifact upload/download progress bars.
PROGRESS_BAR_VARIABLE = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"

_lock = threading.Lock()
_depth = 0
_saved: str | None = None


@contextmanager
def quiet_artifact_downloads() -> Iterator[None]:
    """Silence MLflow's artifact progress bars inside the block, then restore the setting.

    Nested and concurrent blocks (threads) are counted: the variable is set when the first
    block opens and restored when the last one closes, so overlapping blocks never leave it
    set. While a block is open the switch is process-wide, as the environment is: a download
    made by another thread at that moment draws no bar either.
    """
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = os.environ.get(PROGRESS_BAR_VARIABLE)
            os.environ[PROGRESS_BAR_VARIABLE] = "false"
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                if _saved is None:
                    os.environ.pop(PROGRESS_BAR_VARIABLE, None)
                else:
                    os.environ[PROGRESS_BAR_VARIABLE] = _saved
                _saved = None
