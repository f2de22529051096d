"""The losses layer's error type.

:class:`LossInputError` is raised when a loss cannot be computed from the batch it was given:
a prediction of the wrong width, mismatched lengths, a non-binary event, a non-finite or
non-positive duration where the likelihood needs a positive one, a bin index outside the
network's output, an unknown option. It is also a ``ValueError`` so that code written against
PyTorch or pycox (which raise ``ValueError``) keeps working.

Messages name the argument, the value seen and what was expected. Like every lightsaber error
they never contain patient identifiers or raw feature rows; they may contain shapes, counts, row
*positions* within the batch and outcome codes.
"""

from __future__ import annotations

from lightsaber.exceptions import LightsaberError

__all__ = ["LossInputError"]


class LossInputError(LightsaberError, ValueError):
    """A loss cannot be computed from the given batch or options.

    Examples
    --------
    >>> issubclass(LossInputError, ValueError)
    True
    """
