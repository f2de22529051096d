"""A PyTorch survival model as a scikit-survival-style estimator."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from lightsaber._moved import renamed_keywords
from lightsaber.data.targets import check_survival_target, is_competing_target
from lightsaber.exceptions import ArgumentError, NotFittedError, TargetError
from lightsaber.losses.catalogue import PER_CAUSE_AND_TIME_BIN, LossSpec
from lightsaber.losses.cox import cox_ph_loss
from lightsaber.models.nets.base import LightsaberNet, LossFunction, check_keywords
from lightsaber.models.survival_outputs import (
    DISCRETE_KINDS,
    OUTPUT_KINDS,
    discrete_survival,
    restricted_mean,
    step_survival_at,
    weibull_median,
    weibull_survival,
)

__all__ = ["SurvivalNet", "single_event_target"]


def single_event_target(y: Any, model: str, *, allow_all_censored: bool = False) -> np.ndarray:
    """The validated single-event target; a competing-risks target is a clear error.

    A competing-risks target (``status`` 0 / cause code, ``time``; see
    :func:`lightsaber.data.make_competing_target`) would otherwise be refused for its
    non-binary codes, or, with one cause coded 1, be read silently as a binary event.

    Examples
    --------
    >>> from lightsaber.data import make_competing_target
    >>> single_event_target(make_competing_target([1, 2, 0], [1.0, 2, 3]), "DeepSurv")
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.TargetError: DeepSurv models a single event, but y is a ...
    """
    if is_competing_target(y):
        causes = sorted(set(np.asarray(y["status"])[np.asarray(y["status"]) > 0].tolist()))
        raise TargetError(
            f"{model} models a single event, but y is a competing-risks target (fields "
            f"status, time; causes {causes[:10]}). Use a competing-risks model "
            "(DeepHitCompeting, LogisticHazardCompeting, CauseSpecificCox, FineGray), or fit "
            "one cause deliberately with a binary target, e.g. "
            "sksurv.util.Surv.from_arrays(y['status'] == 1, y['time']) (the other causes "
            "then count as censoring: a cause-specific model, whose 1 - S(t) over-states that "
            "cause's cumulative incidence).")
    return check_survival_target(y, allow_all_censored=allow_all_censored)


class SurvivalNet(LightsaberNet):
    """A PyTorch survival model as a scikit-survival-style estimator.

    ``fit(X, y)`` takes a scikit-survival structured array (event, time); ``predict`` returns a
    risk score where **higher means an earlier event**; ``predict_survival_function``,
    ``predict_survival_matrix`` and ``predict_median_time`` give curves and times. How the
    network's output is read depends on the loss (see :mod:`lightsaber.models.survival_outputs`):
    a risk (Cox, ranking; curves from a Breslow baseline fitted on the training split after
    training), one column per time bin (DeepHit, logistic hazard, PMF, N-MTLR; the grid is fitted
    on the training durations), or Weibull scale and shape.

    Parameters
    ----------
    module : nn.Module class or instance
        The network. Its ``out_features`` is set from the loss (1, 2 or the number of bins).
    loss : str or callable, default :func:`lightsaber.losses.cox_ph_loss`
        A name from :data:`lightsaber.losses.LOSSES` (``"cox_efron"``, ``"deephit"``,
        ``"weibull_aft"`` ...) or any ``loss(prediction, duration, event, **loss_options)``.
    loss_options : dict, optional
        Extra keyword arguments for ``loss``, e.g. ``{"alpha": 0.2, "sigma": 0.1}`` for
        ``"deephit"``. skorch's spelling works too: ``loss__sigma=0.1`` is the same as
        ``loss_options={"sigma": 0.1}`` (and is what a tuning space names, as ``module__*``).
        Each option is given once, one way or the other; names the loss does not take raise
        :class:`ArgumentError` when fitting starts.
    output : {"risk", "logistic_hazard", "pmf", "mtlr", "weibull"}, optional
        How to read the network's output. Default: from the registered loss (``"risk"`` for a
        custom callable). Set it when a custom loss uses a discrete-time or Weibull output.
    cuts : int or sequence of float, default 20
        Discrete outputs only: grid points to fit on the training durations, or the grid.
    cut_scheme : {"equidistant", "quantiles"}, default "equidistant"
        Discrete outputs only: how the grid is fitted (pycox's label transform). Quantiles of
        tied durations can coincide; the grid then has fewer points (``cuts_`` is the one used).
    baseline : {"breslow", None}
        Risk outputs only: fit a Breslow baseline after training so survival curves exist.
    monitor : str, default "loss"
        ``"loss"`` or a survival metric such as ``"c_index"``.
    **kwargs
        As for :class:`ClassifierNet`.

    Examples
    --------
    >>> from lightsaber.models import MLP
    >>> from sksurv.util import Surv
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 3)).astype("float32")
    >>> y = Surv.from_arrays(rng.random(300) < 0.7, rng.exponential(np.exp(-X[:, 0])))
    >>> net = SurvivalNet(MLP, module__hidden=(8,), max_epochs=5, lr=0.01).fit(X, y)
    >>> net.predict(X[:3]).shape, bool(net.predict_survival_function(X[:1])[0](0.0) <= 1.0)
    ((3,), True)
    >>> hazard = SurvivalNet(MLP, loss="logistic_hazard", cuts=10, max_epochs=5).fit(X, y)
    >>> hazard.predict_survival_matrix(X[:2], [0.5, 1.0]).shape
    (2, 2)
    >>> SurvivalNet(MLP, loss="deephit", loss__sigma=0.5).get_params()["loss__sigma"]
    0.5
    """

    task: str = "survival"
    _routed_prefixes = ("loss",)

    def __init__(self, module: type[nn.Module] | nn.Module, *,
                 loss: str | Callable[..., torch.Tensor] = cox_ph_loss,
                 loss_options: Mapping[str, Any] | None = None, output: str | None = None,
                 cuts: int | Sequence[float] = 20, cut_scheme: str = "equidistant",
                 baseline: str | None = "breslow", **kwargs: Any) -> None:
        super().__init__(module, **kwargs)
        self.loss = loss
        self.loss_options = loss_options
        self.output = output
        self.cuts = cuts
        self.cut_scheme = cut_scheme
        self.baseline = baseline

    # ------------------------------------------------------------------ loss and output
    def set_params(self, **kwargs: Any) -> SurvivalNet:
        """Set parameters (scikit-learn's protocol); ``loss__<name>`` sets a loss option.

        skorch treats an unknown ``<prefix>__<name>`` as a component it cannot re-initialise,
        so ``loss__*`` keys are stored here and the loss is rebuilt on an initialised net.
        """
        options = {key: value for key, value in kwargs.items() if key.startswith("loss__")}
        super().set_params(**{key: value for key, value in kwargs.items()
                              if key not in options})
        for key, value in options.items():
            setattr(self, key, value)
        if options and getattr(self, "initialized_", False):
            reason = self._format_reinit_msg("criterion", options)
            self._initialize_criterion(reason=reason)
            self._initialize_optimizer(reason=self._format_reinit_msg(
                "optimizer", triggered_directly=False))
        return self

    def _loss_name(self) -> str:
        if isinstance(self.loss, str):
            return repr(self.loss)
        return getattr(self.loss, "__name__", None) or getattr(
            self.loss, "name", None) or type(self.loss).__name__

    def _loss_options(self) -> dict[str, Any]:
        """``loss_options`` merged with the ``loss__<name>`` arguments; a key set twice raises."""
        options = dict(self.loss_options or {})
        prefixed = self.get_params_for("loss")
        both = sorted(set(options) & set(prefixed))
        if both:
            raise ArgumentError(
                f"loss option {both[0]!r} is set twice: loss__{both[0]}="
                f"{prefixed[both[0]]!r} and loss_options[{both[0]!r}]={options[both[0]]!r} "
                f"(loss {self._loss_name()}). Give each option once, either as "
                f"loss__{both[0]}=... or in loss_options={{...}}.")
        return {**options, **prefixed}

    def _loss_spec(self) -> Any:
        if isinstance(self.loss, str):
            from lightsaber.losses import get_loss

            try:
                return get_loss(self.loss)
            except ValueError as exc:
                raise ArgumentError(str(exc)) from None
        return self.loss if isinstance(self.loss, LossSpec) else None

    def _output_kind(self) -> str:
        if self.output is not None:
            if self.output not in OUTPUT_KINDS:
                raise ArgumentError(
                    f"output must be one of {OUTPUT_KINDS}; got {self.output!r}.")
            return self.output
        spec = self._loss_spec()
        if spec is not None and spec.output_width == PER_CAUSE_AND_TIME_BIN:
            raise ArgumentError(
                f"loss {spec.name!r} is a competing-risks loss (one output per cause and time "
                f"bin); {type(self).__name__} models a single event. Use DeepHitCompeting, "
                "LogisticHazardCompeting or CompetingRisksNet (lightsaber.models) with a "
                "competing-risks target.")
        if spec is None or spec.output_width == 1:
            return "risk"
        if spec.output_width == 2:
            return "weibull"
        return "pmf" if spec.name == "deephit" else spec.name

    def _extra_dims(self, y: Any) -> dict[str, int]:
        kind = self._output_kind()
        width = {"risk": 1, "weibull": 2}.get(kind)
        return {"out_features": width if width is not None else len(self.cuts_)}

    def _target_tensor(self, y: Any) -> torch.Tensor:
        target = single_event_target(y, type(self).__name__, allow_all_censored=True)
        time, event = target["time"], target["event"]
        kind = self._output_kind()
        if kind in DISCRETE_KINDS:
            from lightsaber.losses import discretise_durations

            grid = discretise_durations(time, event, cuts=self.cuts_)
            time, event = grid.duration_index, grid.event
        elif kind == "weibull":
            time = time / self.time_scale_
        return torch.as_tensor(np.column_stack([time, event]), dtype=torch.float32)

    @renamed_keywords(validation="val")
    def fit(self, X: Any, y: Any = None, val: tuple[Any, Any] | None = None,
            **fit_params: Any) -> SurvivalNet:
        """Fit on ``(X, y)``; see the class docstring."""
        if self.baseline not in ("breslow", None):
            raise ArgumentError(f"baseline must be 'breslow' or None; got {self.baseline!r}.")
        if not (callable(self.loss) or isinstance(self.loss, str)):
            raise ArgumentError(
                f"loss must be a registered loss name or a callable; got {self.loss!r}.")
        target = single_event_target(y, type(self).__name__)
        kind = self._output_kind()
        if kind in DISCRETE_KINDS:
            from lightsaber.losses import discretise_durations

            try:
                with warnings.catch_warnings():
                    # Quantile grids merge tied cut points; len(cuts_) is the grid used.
                    warnings.filterwarnings("ignore", message="cuts are not unique")
                    self.cuts_ = discretise_durations(target["time"], target["event"],
                                                      cuts=self.cuts,
                                                      scheme=self.cut_scheme).cuts
            except ValueError as exc:
                raise ArgumentError(f"cuts / cut_scheme: {exc}") from None
        if kind == "weibull":
            # The network learns log scale in units of the median training time, so a
            # zero-initialised output starts near the data instead of at 1 day / 1 year.
            positive = target["time"][target["time"] > 0]
            self.time_scale_ = float(np.median(positive)) if positive.size else 1.0
        return super().fit(X, y, val=val, **fit_params)

    def initialize_criterion(self) -> SurvivalNet:
        """Build the loss."""
        spec = self._loss_spec()
        function = spec.function if spec is not None else self.loss
        options = self._loss_options()
        what = f"loss {self._loss_name()}"
        # The loss is called as fn(prediction, duration, event, **options).
        check_keywords(function, list(dict(self.loss_options or {})), "loss_options.", what,
                        skip=3, alternative=" The same options can be given as loss__<name>=.")
        check_keywords(function, list(self.get_params_for("loss")), "loss__", what, skip=3,
                        alternative=" loss__<name>=value is the same as "
                                    "loss_options={'<name>': value}.")
        self.criterion_ = LossFunction(spec if spec is not None else self.loss, **options)
        return self

    def get_loss(self, y_pred: torch.Tensor, y_true: torch.Tensor, X: Any = None,
                 training: bool = False) -> torch.Tensor:
        """Loss of a batch."""
        y_true = y_true.to(y_pred.device)
        return self.criterion_(y_pred, y_true[:, 0], y_true[:, 1])

    def _after_fit(self, X: Any, y: Any) -> None:
        self.baseline_ = None
        target = single_event_target(y, type(self).__name__)
        kind = self._output_kind()
        self.output_kind_ = kind
        if kind == "risk":
            if self.baseline == "breslow":
                from sksurv.linear_model.coxph import BreslowEstimator

                self.baseline_ = BreslowEstimator().fit(self.predict(X), target["event"],
                                                        target["time"])
                self.unique_times_ = self.baseline_.unique_times_
        elif kind in DISCRETE_KINDS:
            self.unique_times_ = np.asarray(self.cuts_, dtype=float)
        else:
            self.unique_times_ = np.unique(target["time"][target["event"]])

    # ------------------------------------------------------------------ prediction
    @property
    def has_survival_curves_(self) -> bool:
        """Whether this fitted net can give survival curves."""
        kind = getattr(self, "output_kind_", None)
        return kind is not None and (kind != "risk" or self.baseline_ is not None)

    def _output(self, X: Any) -> np.ndarray:
        output = self._raw_output(X).double().numpy()
        output = output.reshape(output.shape[0], -1)
        if self._output_kind() == "weibull" and hasattr(self, "time_scale_"):
            output[:, 0] += np.log(self.time_scale_)  # back to the durations' units
        return output

    def predict(self, X: Any) -> np.ndarray:
        """Risk score per row (higher = earlier event), float64.

        The network output for risk losses; minus the restricted mean time on the grid for
        discrete-time outputs; minus the log median time for Weibull outputs.
        """
        output = self._output(X)
        kind = getattr(self, "output_kind_", None) or self._output_kind()
        if kind in DISCRETE_KINDS:
            return -restricted_mean(discrete_survival(output, kind), self.cuts_)
        if kind == "weibull":
            return -np.log(weibull_median(output))
        return output[:, 0]

    def _require_curves(self) -> None:
        if not getattr(self, "initialized_", False) or not hasattr(self, "output_kind_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted; call fit first.")
        if not self.has_survival_curves_:
            raise NotFittedError(
                "no baseline hazard: fit with baseline='breslow' to get survival curves.")

    def predict_survival_matrix(self, X: Any, times: Sequence[float]) -> np.ndarray:
        """S(t | x) at arbitrary ``times`` (n_rows x n_times); 1 before the first grid time."""
        self._require_curves()
        times = np.asarray(times, dtype=float)
        kind = self.output_kind_
        if kind in DISCRETE_KINDS:
            return step_survival_at(discrete_survival(self._output(X), kind), self.cuts_, times)
        if kind == "weibull":
            return weibull_survival(self._output(X), times)
        base = self.baseline_.baseline_survival_
        s0 = step_survival_at(np.asarray(base.y)[None, :], base.x, times)[0]
        return s0[None, :] ** np.exp(self.predict(X))[:, None]

    def predict_survival_function(self, X: Any, return_array: bool = False):
        """Survival curves S(t | x) (scikit-survival's convention).

        Returns an array of step functions on ``unique_times_``, or with ``return_array=True``
        the matrix of survival probabilities at ``unique_times_``.
        """
        return self._curves(X, return_array, cumulative_hazard=False)

    def predict_cumulative_hazard_function(self, X: Any, return_array: bool = False):
        """Cumulative hazard functions H(t | x) = -log S(t | x)."""
        return self._curves(X, return_array, cumulative_hazard=True)

    def _curves(self, X: Any, return_array: bool, *, cumulative_hazard: bool) -> Any:
        """S or H at ``unique_times_``: step functions, or the matrix with ``return_array``."""
        self._require_curves()
        if self.output_kind_ == "risk":
            baseline = (self.baseline_.get_cumulative_hazard_function if cumulative_hazard
                        else self.baseline_.get_survival_function)
            functions = baseline(self.predict(X))
            if return_array:
                return np.vstack([fn(self.unique_times_) for fn in functions])
            return functions
        matrix = self.predict_survival_matrix(X, self.unique_times_)
        if cumulative_hazard:
            with np.errstate(divide="ignore"):
                matrix = -np.log(matrix)
        if return_array:
            return matrix
        from sksurv.functions import StepFunction

        return np.array([StepFunction(self.unique_times_, row) for row in matrix])

    def predict_median_time(self, X: Any) -> np.ndarray:
        """Median survival time per row: the first time S(t | x) <= 0.5 (``inf`` if never).

        Closed form for Weibull outputs; on ``unique_times_`` otherwise.
        """
        self._require_curves()
        if self.output_kind_ == "weibull":
            return weibull_median(self._output(X))
        surv = self.predict_survival_function(X, return_array=True)
        below = surv <= 0.5
        first = np.argmax(below, axis=1)
        return np.where(below.any(axis=1), self.unique_times_[first], np.inf)
