"""The calibration package's error."""

from __future__ import annotations

from lightsaber.exceptions import LightsaberError

__all__ = ["CalibrationError"]


class CalibrationError(LightsaberError, ValueError):
    """A calibrator was given an unusable argument or data (also a ``ValueError``)."""
