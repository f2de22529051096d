"""Type checks at the entry points (``ls.fit``, ``ls.tune``, evaluation, prediction).

A wrong type given to a public function must fail there, with a message that names the
argument, the type seen, what was expected and the fix, instead of as an ``AttributeError``
deep inside the pipeline.
"""

from __future__ import annotations

from typing import Any

from lightsaber.exceptions import InputTypeError, SplitError

__all__ = ["InputTypeError", "check_cohort", "check_fit_inputs", "check_model", "check_splits"]


def _type_name(value: Any) -> str:
    kind = type(value)
    module = kind.__module__
    if module == "builtins":
        return kind.__qualname__
    return f"{module.split('.')[0]}.{kind.__qualname__}"


def check_model(model: Any, caller: str = "ls.fit") -> None:
    """Raise :class:`InputTypeError` unless ``model`` is an estimator instance with ``fit``.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> check_model(LogisticRegression())
    >>> check_model(LogisticRegression)
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.InputTypeError: ls.fit: `model` is the class LogisticRegression, ...
    """
    if isinstance(model, type):
        raise InputTypeError(
            f"{caller}: `model` is the class {model.__name__}, not an estimator; pass an "
            f"instance, e.g. {model.__name__}().")
    if not callable(getattr(model, "fit", None)) or not hasattr(model, "get_params"):
        raise InputTypeError(
            f"{caller}: `model` must be a scikit-learn compatible estimator (with fit and "
            f"get_params): a scikit-learn / scikit-survival estimator or a lightsaber net; got "
            f"{_type_name(model)}. The arguments are ({caller.split('.')[-1]}(model, cohort, "
            "splits, ...)).")


def check_cohort(cohort: Any, caller: str = "ls.fit", name: str = "cohort") -> None:
    """Raise :class:`InputTypeError` unless ``cohort`` is a :class:`~lightsaber.Cohort`.

    Examples
    --------
    >>> import pandas as pd
    >>> check_cohort(pd.DataFrame({"id": [1]}))
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.InputTypeError: ls.fit: `cohort` must be a lightsaber Cohort; ...
    """
    from lightsaber.data.cohort import Cohort

    if isinstance(cohort, Cohort):
        return
    hint = ""
    try:
        import pandas as pd

        if isinstance(cohort, pd.DataFrame):
            hint = (" Wrap the table first: ls.Cohort(df, id='patient_id', label='died') (or "
                    "duration=/event= for survival).")
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    if isinstance(cohort, str) or hasattr(cohort, "__fspath__"):
        hint = " Read the file first: ls.Cohort.from_files(path, id=..., label=...)."
    raise InputTypeError(f"{caller}: `{name}` must be a lightsaber Cohort; got "
                         f"{_type_name(cohort)}.{hint}")


def check_splits(splits: Any, cohort: Any, caller: str = "ls.fit") -> None:
    """Raise unless ``splits`` is a :class:`~lightsaber.Splits` made from ``cohort``.

    :class:`InputTypeError` for another type; :class:`~lightsaber.exceptions.SplitError` for
    splits of another cohort.

    The split manifest records the cohort's size and a hash of each part's ids; a split made on
    another cohort (another size, or other patients in train) is refused, since its positions
    would silently pick other patients.

    Examples
    --------
    >>> import lightsaber as ls
    >>> cohort = ls.datasets.load_sample_mortality(n_patients=100)
    >>> check_splits(cohort.split(seed=0), cohort)
    >>> check_splits({"train": [0, 1]}, cohort)
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.InputTypeError: ls.fit: `splits` must be a lightsaber Splits; ...
    """
    from lightsaber.data.splits import Splits, ids_sha256

    if not isinstance(splits, Splits):
        raise InputTypeError(
            f"{caller}: `splits` must be a lightsaber Splits; got {_type_name(splits)}. Make "
            "one with cohort.split(val=0.15, test=0.15, seed=0) (or Splits.from_column / "
            "Splits.from_files).")
    manifest = splits.manifest if isinstance(splits.manifest, dict) else {}
    expected = manifest.get("n_patients")
    if expected is not None and int(expected) != cohort.n_patients:
        raise SplitError(
            f"{caller}: the splits were made on a cohort of {expected} patients, but this cohort "
            f"has {cohort.n_patients}. Split this cohort: cohort.split(...).")
    train = manifest.get("splits", {}).get("train", {}) if manifest else {}
    fold = manifest.get("active_fold")
    if fold is not None and len(manifest.get("cv_folds", ())) > fold:
        train = manifest["cv_folds"][fold]["train"]
    digest = train.get("ids_sha256") if isinstance(train, dict) else None
    if digest is not None and "train" in splits.indices and len(splits.indices["train"]) and (
            ids_sha256(cohort.ids[splits.indices["train"]]) != digest):
        raise SplitError(
            f"{caller}: the splits were made on another cohort (the train part's patients "
            "differ from the ones recorded in the split manifest). Split this cohort: "
            "cohort.split(...), or rebuild the cohort in its original order.")


def check_fit_inputs(model: Any, cohort: Any, splits: Any, caller: str = "ls.fit") -> None:
    """:func:`check_model`, :func:`check_cohort` and :func:`check_splits` in that order."""
    check_model(model, caller)
    check_cohort(cohort, caller)
    check_splits(splits, cohort, caller)
