"""Time-to-event losses as plain functions ``loss(prediction, duration, event, **options)``."""

from lightsaber.losses.cox import cox_ph_loss

__all__ = ["cox_ph_loss"]
