"""A PyTorch competing-risks model: cumulative incidence of each cause on a discrete time grid."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from lightsaber._moved import renamed_keywords
from lightsaber.data.targets import (
    COMPETING_DTYPE,
    check_competing_target,
    check_survival_target,
)
from lightsaber.exceptions import ArgumentError, NotFittedError, TargetError
from lightsaber.models.competing import _cause_row, _check_times
from lightsaber.models.nets.base import LightsaberNet
from lightsaber.models.nets.survival import SurvivalNet
from lightsaber.models.survival_outputs import (
    COMPETING_KINDS,
    competing_incidence,
    step_curves_at,
)

__all__ = ["CompetingRisksNet"]

#: How the registered competing-risks losses' outputs are read.
_KIND_OF_LOSS = {"deephit_competing": "pmf_competing",
                 "logistic_hazard_competing": "logistic_hazard_competing"}


def _fields(y: Any) -> tuple[Any, Any] | None:
    """``(status or event, time)`` of a structured array or a 2-tuple, else None."""
    if isinstance(y, tuple) and len(y) == 2:
        return y[0], y[1]
    names = getattr(getattr(y, "dtype", None), "names", None)
    if names is not None and len(names) == 2:
        return y[names[0]], y[names[1]]
    return None


def competing_target(y: Any, model: str, *, allow_all_censored: bool = False) -> np.ndarray:
    """The validated competing-risks target; a binary survival target is a clear error.

    Examples
    --------
    >>> competing_target(([1, 0, 2], [4.0, 5.0, 6.0]), "DeepHitCompeting")["status"].tolist()
    [1, 0, 2]
    >>> from sksurv.util import Surv
    >>> competing_target(Surv.from_arrays([True, False], [1.0, 2.0]), "DeepHitCompeting")
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.TargetError: DeepHitCompeting needs a competing-risks target ...
    """
    fields = _fields(y)
    if fields is not None and np.asarray(fields[0]).dtype == bool:
        names = getattr(getattr(y, "dtype", None), "names", None)
        shown = f"fields {names}" if names else "a (bool, time) tuple"
        raise TargetError(
            f"{model} needs a competing-risks target (status 0 = censored, 1..K = the cause, "
            f"and time); got a binary survival target ({shown}, the event a bool), which "
            "cannot say which cause ended follow-up. Build one with "
            "lightsaber.data.make_competing_target(status, time), status holding the cause "
            "code of each event; for a single event use the single-event recipe (DeepHit, "
            "LogisticHazard).")
    if allow_all_censored and fields is not None:
        status = np.asarray(fields[0])
        if status.ndim == 1 and status.size and np.issubdtype(status.dtype, np.number) and \
                not status.any():
            # A validation split may have no event; the times are still checked.
            out = np.zeros(status.size, dtype=COMPETING_DTYPE)
            out["time"] = check_survival_target(np.zeros(status.size, bool), fields[1],
                                                allow_all_censored=True)["time"]
            return out
    return check_competing_target(y)


class CompetingRisksNet(SurvivalNet):
    """A PyTorch competing-risks model on a discrete time grid, as a scikit-learn estimator.

    ``fit(X, y)`` takes a competing-risks target (``status`` 0 = censored, ``1..K`` = the
    cause; ``time``), from :func:`lightsaber.data.make_competing_target`. The time grid
    (``cuts_``) is fitted on the training durations with every event, whatever its cause,
    counted as an event (the single-event recipes' label transform), and the network outputs
    ``K * len(cuts_)`` scores per row, read as ``(n, K, n_bins)`` (cause-major; ``K`` =
    ``len(causes_)``). The predictions share the API of
    :class:`~lightsaber.models.CauseSpecificCox`: ``predict_cumulative_incidence(X, times,
    cause=k)``, ``predict_event_free_survival(X, times)``, ``predict(X)``, ``causes_``.

    Curves are step functions on the grid, as the single-event discrete recipes'
    (:mod:`lightsaber.models.survival_outputs`): the cumulative incidence is 0 before
    ``cuts_[0]``, takes its grid value ``F_k(cuts_[j])`` on ``[cuts_[j], cuts_[j+1])`` (an
    event in ``(cuts_[j-1], cuts_[j]]`` is counted at ``cuts_[j]``) and stays flat after the
    last cut. ``predict_survival_function`` and ``predict_survival_matrix`` give the
    event-free survival ``1 - sum_k F_k`` (the probability of no event of any cause), as
    pycox's ``DeepHit.predict_surv`` does.

    Parameters
    ----------
    module : nn.Module class or instance
        The network (:class:`~lightsaber.models.MLP`, or
        :class:`~lightsaber.models.SequenceNet` for longitudinal input). Its ``out_features``
        is set to ``K * len(cuts_)``.
    loss : str or callable, default "deephit_competing"
        ``"deephit_competing"``, ``"logistic_hazard_competing"`` or any
        ``loss(prediction, duration_index, cause, **loss_options)`` taking ``(n, K, n_bins)``
        scores and causes numbered ``1..K`` in the order of ``causes_`` (0 = censored); a
        callable needs ``output``.
    loss_options : dict, optional
        Extra keyword arguments for ``loss`` (``{"alpha": 0.5}``; also ``loss__alpha=0.5``).
    output : {"pmf_competing", "logistic_hazard_competing"}, optional
        How to read the scores; default from the registered loss.
    cuts : int or sequence of float, default 20
        Grid points to fit on the training durations, or the grid.
    cut_scheme : {"equidistant", "quantiles"}, default "equidistant"
        How the grid is fitted (pycox's label transform; quantiles of the Kaplan-Meier
        estimate of the time to the first event of any cause).
    **kwargs
        As for :class:`~lightsaber.models.SurvivalNet` (``lr``, ``max_epochs``,
        ``early_stopping``, ``random_state``, ``module__*`` ...). ``monitor`` must be
        ``"loss"``.

    Attributes
    ----------
    causes_ : numpy.ndarray
        Sorted cause codes seen in training (``status`` values > 0).
    cuts_ : numpy.ndarray
        The time grid; ``unique_times_`` is the same.

    Examples
    --------
    >>> from lightsaber.data import make_competing_target
    >>> from lightsaber.models import MLP
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 3)).astype("float32")
    >>> y = make_competing_target(rng.integers(0, 3, 300), rng.exponential(np.exp(-X[:, 0])))
    >>> net = CompetingRisksNet(MLP, cuts=8, max_epochs=3, module__hidden=(8,)).fit(X, y)
    >>> net.causes_.tolist(), net.module_.layers[-1].out_features
    ([1, 2], 16)
    >>> net.predict_cumulative_incidence(X[:2], [0.5, 1.0], cause=2).shape
    (2, 2)
    """

    task: str = "competing"

    def __init__(self, module: type[nn.Module] | nn.Module, *,
                 loss: str | Callable[..., torch.Tensor] = "deephit_competing",
                 loss_options: Mapping[str, Any] | None = None, output: str | None = None,
                 cuts: int | Sequence[float] = 20, cut_scheme: str = "equidistant",
                 **kwargs: Any) -> None:
        LightsaberNet.__init__(self, module, **kwargs)
        self.loss = loss
        self.loss_options = loss_options
        self.output = output
        self.cuts = cuts
        self.cut_scheme = cut_scheme

    # ------------------------------------------------------------------ configuration
    def _check_params(self) -> None:
        if self.monitor != "loss":
            raise ArgumentError(
                f"monitor={self.monitor!r}: {type(self).__name__} stops early on the validation "
                "loss only (monitor='loss'); score competing-risks metrics such as "
                "lightsaber.metrics.wolbers_c after fitting.")
        super()._check_params()

    def _output_kind(self) -> str:
        if self.output is not None:
            if self.output not in COMPETING_KINDS:
                raise ArgumentError(
                    f"output must be one of {COMPETING_KINDS} for {type(self).__name__}; got "
                    f"{self.output!r}.")
            return self.output
        spec = self._loss_spec()
        if spec is not None and spec.name in _KIND_OF_LOSS:
            return _KIND_OF_LOSS[spec.name]
        if spec is not None:
            raise ArgumentError(
                f"loss {spec.name!r} is a single-event loss; {type(self).__name__} needs a "
                f"competing-risks loss ({', '.join(sorted(_KIND_OF_LOSS))}). For one event, "
                "use SurvivalNet or a single-event recipe.")
        raise ArgumentError(
            f"a custom loss needs output= to say how its scores are read: one of "
            f"{COMPETING_KINDS}.")

    def _stratify_by(self, y: Any) -> Any:
        """The held-out validation rows keep each cause (and censoring) in proportion."""
        return np.asarray(y["status"])

    def _extra_dims(self, y: Any) -> dict[str, int]:
        return {"out_features": len(self.causes_) * len(self.cuts_)}

    # ------------------------------------------------------------------ data
    def _target_tensor(self, y: Any) -> torch.Tensor:
        """``(duration index, cause position 1..K or 0)`` per row, as float32 columns."""
        from lightsaber.losses import discretise_durations

        target = competing_target(y, type(self).__name__, allow_all_censored=True)
        status, time = target["status"], target["time"]
        unknown = sorted(set(status[status > 0].tolist()) - set(self.causes_.tolist()))
        if unknown:
            raise TargetError(
                f"y has cause code(s) {unknown[:10]} that the training target of this "
                f"{type(self).__name__} did not have (causes_ = {self.causes_.tolist()}); a "
                "model has no output for a cause it never saw. Refit with those causes in the "
                "training split, or recode them.")
        grid = discretise_durations(time, status > 0, cuts=self.cuts_)
        position = np.searchsorted(self.causes_, status) + 1
        cause = np.where(grid.event > 0, position, 0)
        return torch.as_tensor(np.column_stack([grid.duration_index, cause]),
                               dtype=torch.float32)

    @renamed_keywords(validation="val")
    def fit(self, X: Any, y: Any = None, val: tuple[Any, Any] | None = None,
            **fit_params: Any) -> CompetingRisksNet:
        """Fit on ``(X, y)``, validating on ``val=(X_val, y_val)``; see the class docstring.

        Parameters
        ----------
        X : array or dict of arrays
            Features (``static``), or padded sequences for ``SequenceNet``.
        y : structured array
            Competing-risks target (fields ``status``, ``time``).
        val : tuple, optional
            ``(X_val, y_val)`` for early stopping; without it a stratified
            ``validation_fraction`` of the rows is held out.
        **fit_params
            Passed on to skorch's ``fit``.

        Returns
        -------
        CompetingRisksNet
            The fitted net.
        """
        from lightsaber.losses import discretise_durations

        if not (callable(self.loss) or isinstance(self.loss, str)):
            raise ArgumentError(
                f"loss must be a registered loss name or a callable; got {self.loss!r}.")
        target = competing_target(y, type(self).__name__)
        self._output_kind()  # a bad loss / output fails before training
        status = target["status"]
        self.causes_ = np.unique(status[status > 0])
        try:
            with warnings.catch_warnings():
                # Quantile grids merge tied cut points; len(cuts_) is the grid used.
                warnings.filterwarnings("ignore", message="cuts are not unique")
                self.cuts_ = discretise_durations(target["time"], status > 0, cuts=self.cuts,
                                                  scheme=self.cut_scheme).cuts
        except ValueError as exc:
            raise ArgumentError(f"cuts / cut_scheme: {exc}") from None
        return LightsaberNet.fit(self, X, target, val=val, **fit_params)

    def get_loss(self, y_pred: torch.Tensor, y_true: torch.Tensor, X: Any = None,
                 training: bool = False) -> torch.Tensor:
        """Loss of a batch: the scores viewed as ``(n, K, n_bins)``."""
        y_true = y_true.to(y_pred.device)
        scores = y_pred.reshape(y_pred.shape[0], len(self.causes_), -1)
        return self.criterion_(scores, y_true[:, 0], y_true[:, 1])

    def _after_fit(self, X: Any, y: Any) -> None:
        self.output_kind_ = self._output_kind()
        self.unique_times_ = np.asarray(self.cuts_, dtype=float)

    # ------------------------------------------------------------------ prediction
    @property
    def has_survival_curves_(self) -> bool:
        """Whether this net is fitted (its curves always exist then)."""
        return getattr(self, "output_kind_", None) is not None

    def _require_curves(self) -> None:
        if not getattr(self, "initialized_", False) or not hasattr(self, "output_kind_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted; call fit first.")

    def _output(self, X: Any) -> np.ndarray:
        output = self._raw_output(X).double().numpy()
        return output.reshape(output.shape[0], len(self.causes_), -1)

    def _grid_incidence(self, X: Any) -> np.ndarray:
        """Cumulative incidences ``(n, K, len(cuts_))`` on the grid."""
        self._require_curves()
        return competing_incidence(self._output(X), self.output_kind_)

    def _cause_row(self, cause: Any) -> int:
        self._require_curves()
        return _cause_row(self.causes_, cause, type(self).__name__)

    def predict_cumulative_incidence(self, X: Any, times: Sequence[float] | np.ndarray,
                                     cause: int | None = None) -> np.ndarray:
        """Cumulative incidence ``P(T <= t, cause | x)`` of one cause at ``times``.

        Parameters
        ----------
        X : array or dict of arrays
            Features, as in ``fit``.
        times : sequence of float
            Sorted, finite, non-negative times.
        cause : int, optional
            A cause code seen in training (default: the first, ``causes_[0]``).

        Returns
        -------
        numpy.ndarray of shape (n_samples, len(times))
            Values in [0, 1], non-decreasing along each row (step function on ``cuts_``).
        """
        row = self._cause_row(cause)
        grid = _check_times(times)
        return step_curves_at(self._grid_incidence(X)[:, row, :], self.cuts_, grid, before=0.0)

    def predict_event_free_survival(self, X: Any,
                                    times: Sequence[float] | np.ndarray) -> np.ndarray:
        """Probability of no event of any cause by each of ``times``, ``1 - sum_k F_k(t | x)``.

        Parameters
        ----------
        X : array or dict of arrays
            Features, as in ``fit``.
        times : sequence of float
            Sorted, finite, non-negative times.

        Returns
        -------
        numpy.ndarray of shape (n_samples, len(times))
            Non-increasing along each row, in [0, 1].
        """
        self._require_curves()
        return self.predict_survival_matrix(X, _check_times(times))

    def predict_survival_matrix(self, X: Any, times: Sequence[float]) -> np.ndarray:
        """Event-free survival ``1 - sum_k F_k(t | x)`` at ``times`` (n_rows x n_times).

        Parameters
        ----------
        X : array or dict of arrays
            Features, as in ``fit``.
        times : sequence of float
            Times (any order); 1 before the first grid time.

        Returns
        -------
        numpy.ndarray of shape (n_samples, len(times))
            The probability of no event of any cause by each time.
        """
        survival = np.clip(1.0 - self._grid_incidence(X).sum(axis=1), 0.0, 1.0)
        return step_curves_at(survival, self.cuts_, np.asarray(times, dtype=float), before=1.0)

    def predict(self, X: Any, cause: int | None = None) -> np.ndarray:
        """Risk score: the cause's cumulative incidence at the last grid time, ``cuts_[-1]``.

        Higher means an earlier event of that cause (the scikit-survival convention), as
        :meth:`CauseSpecificCox.predict <lightsaber.models.CauseSpecificCox.predict>`.

        Parameters
        ----------
        X : array or dict of arrays
            Features, as in ``fit``.
        cause : int, optional
            A cause code seen in training (default: the first, ``causes_[0]``).

        Returns
        -------
        numpy.ndarray of shape (n_samples,)
            ``F_cause(cuts_[-1] | x)``, float64.
        """
        row = self._cause_row(cause)
        return self._grid_incidence(X)[:, row, -1]
