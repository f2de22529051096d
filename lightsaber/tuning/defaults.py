"""The default search space of each model: what ``ls.tune(model, cohort, splits)`` searches.

A user who does not know which hyperparameters matter for a Cox MLP can call
``ls.tune(DeepSurv(), cohort, splits)`` (YAML: ``tuning.space: default``) and get a study over
the ones that do. :func:`default_space` returns that space in its YAML form (the form
``tuning.space`` takes and :func:`~lightsaber.tuning.space_from_dict` parses), so it can be
printed, edited and passed back as ``space=``.

=========================================  ==============================================
model                                      searched
=========================================  ==============================================
``SurvivalNet`` / ``ClassifierNet``        ``lr``, ``optimizer__weight_decay``,
                                           ``batch_size``, plus the module's arguments:
  with :class:`~lightsaber.models.MLP`     ``module__hidden``, ``module__dropout``
  with ``SequenceNet``                     ``module__hidden_size``, ``module__num_layers``,
                                           ``module__head``, ``module__dropout``
  with ``VAECoxNetwork`` (``VAECox``)      ``module__hidden``, ``module__latent_features``,
                                           ``module__dropout``, ``pretrain_epochs``, ``beta``
discrete-time loss (DeepHit, PMF, ...)     ``cuts``, ``cut_scheme``
``DeepHit``, ``DeepHitCompeting``          ``loss__alpha``, ``loss__sigma``
``RankSVX``                                ``loss__margin``
``ClassifierNet``                          ``class_weight``
``LogisticRegression``                     ``C``, ``class_weight``
``HistGradientBoostingClassifier``         ``learning_rate``, ``max_leaf_nodes``,
                                           ``min_samples_leaf``, ``l2_regularization``
``CoxPHSurvivalAnalysis``                  ``alpha`` (ridge penalty)
``CoxnetSurvivalAnalysis``                 ``l1_ratio``, ``alpha_min_ratio``
``RandomSurvivalForest``                   ``min_samples_leaf``, ``max_features``,
                                           ``max_depth``
``GradientBoostingSurvivalAnalysis``       ``learning_rate``, ``n_estimators``,
                                           ``max_depth``, ``subsample``
=========================================  ==============================================

``max_epochs`` and ``early_stopping`` are not searched: every trial stops early on its
validation loss, so a longer budget only costs time. A loss option already fixed in
``loss_options`` is left out (setting it twice is an error). A scikit-learn ``Pipeline`` gets
the space of its last step, prefixed with the step's name. ``docs/tuning.md`` lists every
space in full.

Examples
--------
>>> from lightsaber.models import DeepSurv
>>> sorted(default_space(DeepSurv()))
['batch_size', 'lr', 'module__dropout', 'module__hidden', 'optimizer__weight_decay']
>>> default_space(DeepSurv())["lr"]
{'loguniform': [0.0001, 0.01]}
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from lightsaber.exceptions import LightsaberWarning, TuningError

__all__ = ["default_space", "has_default_space"]

#: Optimiser settings searched for every network.
NET_TRAINING: dict[str, Any] = {
    "lr": {"loguniform": [1e-4, 1e-2]},
    "optimizer__weight_decay": {"choice": [0.0, 1e-5, 1e-4, 1e-3]},
    "batch_size": {"choice": [64, 128, 256]},
}
#: Per module class name: its searched arguments (``module__`` is added).
MODULE_SPACES: dict[str, dict[str, Any]] = {
    "MLP": {
        "hidden": {"choice": [[32], [32, 32], [64, 64], [128, 128], [64, 64, 64]]},
        "dropout": {"uniform": [0.0, 0.5]},
    },
    "SequenceNet": {
        "hidden_size": {"choice": [16, 32, 64, 128]},
        "num_layers": {"choice": [1, 2]},
        "head": {"choice": [[], [32], [64]]},
        "dropout": {"uniform": [0.0, 0.5]},
    },
    "VAECoxNetwork": {
        "hidden": {"choice": [[32], [64], [128], [64, 64]]},
        "latent_features": {"choice": [4, 8, 16, 32]},
        "dropout": {"uniform": [0.0, 0.5]},
    },
}
#: Discretisation of discrete-time losses (``SurvivalNet(cuts=, cut_scheme=)``).
DISCRETE_TIME: dict[str, Any] = {
    "cuts": {"choice": [10, 20, 40]},
    "cut_scheme": {"choice": ["equidistant", "quantiles"]},
}
#: Per registered loss name: its searched options (``loss__`` is added).
LOSS_SPACES: dict[str, dict[str, Any]] = {
    "deephit": {"alpha": {"uniform": [0.1, 0.9]}, "sigma": {"choice": [0.1, 0.5, 1.0]}},
    "deephit_competing": {"alpha": {"uniform": [0.1, 0.9]},
                          "sigma": {"choice": [0.1, 0.5, 1.0]}},
    "ranking": {"margin": {"loguniform": [0.1, 2.0]}},
}
#: VAECox's own arguments.
VAECOX: dict[str, Any] = {
    "pretrain_epochs": {"choice": [0, 25, 50, 100]},
    "beta": {"choice": [0.1, 0.5, 1.0]},
}
#: scikit-learn / scikit-survival estimators, by (top-level package, class name).
ESTIMATOR_SPACES: dict[tuple[str, str], dict[str, Any]] = {
    ("sklearn", "LogisticRegression"): {
        "C": {"loguniform": [1e-3, 100.0]},
        "class_weight": {"choice": [None, "balanced"]},
    },
    ("sklearn", "HistGradientBoostingClassifier"): {
        "learning_rate": {"loguniform": [0.01, 0.3]},
        "max_leaf_nodes": {"choice": [7, 15, 31, 63]},
        "min_samples_leaf": {"choice": [5, 10, 20, 50]},
        "l2_regularization": {"choice": [0.0, 0.1, 1.0, 10.0]},
    },
    ("sksurv", "CoxPHSurvivalAnalysis"): {
        "alpha": {"loguniform": [1e-3, 100.0]},
    },
    ("sksurv", "CoxnetSurvivalAnalysis"): {
        "l1_ratio": {"uniform": [0.1, 1.0]},
        "alpha_min_ratio": {"loguniform": [1e-3, 0.3]},
    },
    ("sksurv", "RandomSurvivalForest"): {
        "min_samples_leaf": {"choice": [3, 5, 10, 20]},
        "max_features": {"choice": ["sqrt", 0.5, None]},
        "max_depth": {"choice": [None, 5, 10]},
    },
    ("sksurv", "GradientBoostingSurvivalAnalysis"): {
        "learning_rate": {"loguniform": [0.01, 0.3]},
        "n_estimators": {"choice": [100, 200, 400]},
        "max_depth": {"choice": [2, 3, 4]},
        "subsample": {"uniform": [0.5, 1.0]},
    },
}


def default_space(model: Any) -> dict[str, Any]:
    """The default search space of ``model``, in YAML form (see the module docstring).

    Parameters
    ----------
    model : estimator
        A lightsaber net or recipe, one of the scikit-learn / scikit-survival estimators of
        the table, or a ``Pipeline`` ending in one.

    Returns
    -------
    dict
        ``{parameter: spec}``, fresh on every call (editing it changes nothing here).

    Raises
    ------
    TuningError
        For a model without a default space, naming its class and the fix (pass ``space=``).

    Warns
    -----
    LightsaberWarning
        For a net whose module class has no default space: only ``lr``, weight decay and
        batch size are searched, not the module's own arguments.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> default_space(LogisticRegression())
    {'C': {'loguniform': [0.001, 100.0]}, 'class_weight': {'choice': [None, 'balanced']}}
    >>> from sklearn.svm import SVC
    >>> default_space(SVC())
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.TuningError: SVC has no default search space; ...
    """
    from lightsaber.models.protocol import is_net

    steps = getattr(model, "steps", None)
    if steps and isinstance(steps, list):
        name, last = steps[-1]
        return {f"{name}__{key}": spec for key, spec in default_space(last).items()}
    if is_net(model):
        return _net_space(model)
    for cls in type(model).__mro__:
        spec = ESTIMATOR_SPACES.get((cls.__module__.split(".")[0], cls.__name__))
        if spec is not None:
            return _copy(spec)
    known = ", ".join(sorted(name for _, name in ESTIMATOR_SPACES))
    raise TuningError(
        f"{type(model).__name__} has no default search space; pass space={{...}} to ls.tune "
        f"(YAML: tuning.space: {{param: {{loguniform: [low, high]}}, ...}}). Default spaces "
        f"exist for lightsaber's nets and recipes and for {known}.")


def has_default_space(model: Any) -> bool:
    """Whether :func:`default_space` has a space for ``model`` (without warning).

    Examples
    --------
    >>> from sklearn.svm import SVC
    >>> from lightsaber.models import DeepHit
    >>> has_default_space(DeepHit()), has_default_space(SVC())
    (True, False)
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LightsaberWarning)
            default_space(model)
    except TuningError:
        return False
    return True


def _net_space(model: Any) -> dict[str, Any]:
    """Training settings, the module's arguments and the loss / recipe additions."""
    space = _copy(NET_TRAINING)
    module = model.module if isinstance(model.module, type) else type(model.module)
    module_space = _module_space(module)
    if module_space is None:
        warnings.warn(
            f"{type(model).__name__}'s default space searches lr, optimizer__weight_decay and "
            f"batch_size only: lightsaber has no default for the arguments of "
            f"{module.__name__}; pass space={{...}} to search them too.",
            LightsaberWarning, stacklevel=3)
    space.update({f"module__{key}": spec for key, spec in (module_space or {}).items()})
    space.update(_loss_space(model))
    if "pretrain_epochs" in model.get_params(deep=False):
        space.update(_copy(VAECOX))
    if "class_weight" in model.get_params(deep=False):
        space["class_weight"] = {"choice": [None, "balanced"]}
    return space


def _module_space(module: type) -> dict[str, Any] | None:
    """The space of the first known class in ``module``'s MRO (a subclass of MLP is an MLP)."""
    for cls in module.__mro__:
        if cls.__module__.startswith("lightsaber.") and cls.__name__ in MODULE_SPACES:
            return _copy(MODULE_SPACES[cls.__name__])
    return None


def _loss_space(model: Any) -> dict[str, Any]:
    """Discretisation for discrete-time losses; the loss's own options not already fixed."""
    spec_of: Callable[[], Any] | None = getattr(model, "_loss_spec", None)
    spec = spec_of() if spec_of is not None else None
    if spec is None:
        return {}
    space = _copy(DISCRETE_TIME) if spec.time == "discrete" else {}
    fixed = set(model.loss_options or {}) | set(spec.options)
    for option, option_spec in LOSS_SPACES.get(spec.name, {}).items():
        if option not in fixed:
            space[f"loss__{option}"] = _copy(option_spec)
    return space


def _copy(value: Any) -> Any:
    """A deep copy of nested dicts and lists (the tables stay unchanged)."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value
