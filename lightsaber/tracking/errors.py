"""The tracking layer's error."""

from __future__ import annotations

from lightsaber.exceptions import LightsaberError

__all__ = ["TrackingError"]


class TrackingError(LightsaberError, RuntimeError):
    """MLflow could not be reached, or refused what lightsaber tried to record.

    Also a ``RuntimeError``. The underlying MLflow or database error is chained as
    ``__cause__``. Messages name the tracking URI (credentials removed), the run and the key
    involved, followed by MLflow's own message.
    """
