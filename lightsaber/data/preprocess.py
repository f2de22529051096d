"""Static-feature preprocessing on scikit-learn's ``ColumnTransformer``, fitted on train only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from lightsaber.data.sequences import PaddedSequences, SequencePreprocessor
from lightsaber.exceptions import CohortError, MissingColumnError, NotFittedError

if TYPE_CHECKING:
    from lightsaber.data.cohort import Cohort

__all__ = ["Features", "Preprocessor", "TabularPreprocessor"]


def _categories_as_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Cast categorical columns to object strings (keeping missing) so mixed types encode."""
    return frame.astype(str).astype(object).where(frame.notna(), np.nan)


class TabularPreprocessor(TransformerMixin, BaseEstimator):
    """Impute, scale and one-hot encode a static feature table.

    A thin, picklable wrapper around :class:`sklearn.compose.ColumnTransformer` that returns
    float32 arrays and keeps feature names.

    Parameters
    ----------
    categorical : list of str, optional
        Categorical columns. Default: object, string, category and bool-object columns.
    numeric_imputation : {"median", "mean", "constant"}, default "median"
        Strategy of :class:`~sklearn.impute.SimpleImputer` for numeric columns (constant = 0).
    missing_indicator : bool, default True
        Add a 0/1 column for each numeric feature with missing values in training.
    scale : bool, default True
        Standardise numeric columns (:class:`~sklearn.preprocessing.StandardScaler`).
    min_frequency : int or float, optional
        Rare categories are grouped (``OneHotEncoder(min_frequency=...)``).

    Examples
    --------
    >>> df = pd.DataFrame({"age": [50, None, 70], "sex": ["f", "m", None]})
    >>> pre = TabularPreprocessor(scale=False).fit(df)
    >>> pre.get_feature_names_out().tolist()
    ['age', 'missingindicator_age', 'sex_f', 'sex_m', 'sex_missing']
    >>> pre.transform(pd.DataFrame({"age": [1.0], "sex": ["unseen"]})).tolist()
    [[1.0, 0.0, 0.0, 0.0, 0.0]]
    """

    def __init__(self, categorical: Sequence[str] | None = None,
                 numeric_imputation: str = "median", missing_indicator: bool = True,
                 scale: bool = True, min_frequency: int | float | None = None) -> None:
        self.categorical = categorical
        self.numeric_imputation = numeric_imputation
        self.missing_indicator = missing_indicator
        self.scale = scale
        self.min_frequency = min_frequency

    def fit(self, X: pd.DataFrame, y: object = None) -> TabularPreprocessor:
        """Fit imputers, scaler and encoder on the training table ``X``."""
        if not isinstance(X, pd.DataFrame):
            raise CohortError(
                f"TabularPreprocessor needs a pandas DataFrame with named columns; got "
                f"{type(X).__name__}."
            )
        if self.numeric_imputation not in {"median", "mean", "constant"}:
            raise CohortError(
                f"numeric_imputation must be 'median', 'mean' or 'constant'; got "
                f"{self.numeric_imputation!r}."
            )
        if self.categorical is None:
            cats = [c for c in X.columns if not (ptypes.is_numeric_dtype(X[c].dtype)
                                                 or ptypes.is_bool_dtype(X[c].dtype))]
        else:
            cats = list(self.categorical)
            absent = [c for c in cats if c not in X.columns]
            if absent:
                raise MissingColumnError(f"categorical column '{absent[0]}' is not in the table.")
        nums = [c for c in X.columns if c not in set(cats)]
        numeric_steps = [("impute", SimpleImputer(strategy=self.numeric_imputation, fill_value=0,
                                                  keep_empty_features=True))]
        if self.scale:
            numeric_steps.append(("scale", StandardScaler()))
        parts = [("numeric", Pipeline(numeric_steps), nums)]
        if self.missing_indicator and nums:
            parts.append(("missing", MissingIndicator(features="missing-only", error_on_new=False),
                          nums))
        if cats:
            parts.append(("categorical", Pipeline([
                ("as_str", FunctionTransformer(_categories_as_strings,
                                               feature_names_out="one-to-one")),
                ("impute", SimpleImputer(strategy="constant", fill_value="missing")),
                ("onehot", OneHotEncoder(handle_unknown="infrequent_if_exist"
                                         if self.min_frequency else "ignore",
                                         min_frequency=self.min_frequency, sparse_output=False)),
            ]), cats))
        self.numeric_ = nums
        self.categorical_ = cats
        self.columns_ = list(X.columns)
        self.transformer_ = ColumnTransformer(parts, verbose_feature_names_out=False,
                                              sparse_threshold=0)
        self.transformer_.fit(X.astype({c: np.float64 for c in nums}))
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """Apply the fitted transformation; returns a float32 array."""
        if not hasattr(self, "transformer_"):
            raise NotFittedError("TabularPreprocessor is not fitted; call fit(train_table) first.")
        absent = [c for c in self.columns_ if c not in X.columns]
        if absent:
            raise MissingColumnError(
                f"column '{absent[0]}' was present when fitting but is missing now "
                f"({len(absent)} missing in all)."
            )
        X = X[self.columns_].astype({c: np.float64 for c in self.numeric_})
        return np.asarray(self.transformer_.transform(X), dtype=np.float32)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Output column names."""
        return self.transformer_.get_feature_names_out()


@dataclass(frozen=True)
class Features:
    """Model inputs for one split.

    Attributes
    ----------
    static : ndarray, float32, shape (n_patients, n_static)
        Preprocessed static features.
    static_names : list of str
        Column names of ``static``.
    sequences : PaddedSequences or None
        Preprocessed longitudinal data, when the cohort has any and a sequence step was set.
    """

    static: np.ndarray
    static_names: list[str]
    sequences: PaddedSequences | None = None

    def __len__(self) -> int:
        return self.static.shape[0]


class Preprocessor(BaseEstimator):
    """Preprocess a whole cohort: static table and, optionally, longitudinal sequences.

    Fit it on the training cohort only, then transform every split.

    Parameters
    ----------
    tabular : TabularPreprocessor, optional
        Static-feature step (default ``TabularPreprocessor()`` with the cohort's declared
        categorical columns).
    sequence : SequencePreprocessor, optional
        Longitudinal step; ``None`` skips sequences.

    Examples
    --------
    >>> from lightsaber.data.cohort import Cohort
    >>> df = pd.DataFrame({"id": range(6), "age": [50, 60, None, 70, 80, 65],
    ...                    "y": [0, 1, 0, 1, 0, 1]})
    >>> cohort = Cohort(df, id="id", label="y")
    >>> splits = cohort.split(val=0.2, test=0.2, seed=0)
    >>> parts = splits.cohorts(cohort)
    >>> pre = Preprocessor().fit(parts["train"])
    >>> pre.transform(parts["test"]).static.dtype
    dtype('float32')
    """

    def __init__(self, tabular: TabularPreprocessor | None = None,
                 sequence: SequencePreprocessor | None = None) -> None:
        self.tabular = tabular
        self.sequence = sequence

    def fit(self, cohort: Cohort, y: object = None) -> Preprocessor:
        """Fit the static and sequence steps on ``cohort`` (the training split)."""
        from sklearn.base import clone

        tabular = clone(self.tabular) if self.tabular is not None else \
            TabularPreprocessor(categorical=cohort.categorical)
        self.tabular_ = tabular.fit(cohort.static)
        self.sequence_ = None
        if self.sequence is not None:
            self.sequence_ = clone(self.sequence).fit(cohort)
        return self

    def transform(self, cohort: Cohort) -> Features:
        """Transform any split of the cohort with the statistics learnt in :meth:`fit`."""
        if not hasattr(self, "tabular_"):
            raise NotFittedError("Preprocessor is not fitted; call fit(train_cohort) first.")
        static = self.tabular_.transform(cohort.static)
        seqs = self.sequence_.transform(cohort) if self.sequence_ is not None else None
        return Features(static, list(self.tabular_.get_feature_names_out()), seqs)

    def fit_transform(self, cohort: Cohort, y: object = None) -> Features:
        """Fit on ``cohort`` and transform it."""
        return self.fit(cohort).transform(cohort)
