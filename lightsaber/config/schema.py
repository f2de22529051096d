"""The experiment schema (pydantic v2): sections, types, defaults and allowed values.

Every section forbids unknown keys. Sections that build an object from a ``_target_`` keep their
other keys as that object's arguments; those are checked against its signature when the
experiment is built (:mod:`lightsaber.config.build`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PositiveFloat,
    PositiveInt,
    Tag,
    field_validator,
)

__all__ = [
    "AdapterSpec",
    "CalibrationSpec",
    "CallSpec",
    "EvaluationSpec",
    "ExperimentConfig",
    "FileData",
    "LossSpec",
    "MetricSpec",
    "ModelSpec",
    "NetworkSpec",
    "PreprocessSpec",
    "SplitSpec",
    "TrackingSpec",
    "TrainerSpec",
    "TuningSpec",
]

#: What the pipeline provides to a loss or metric adapter.
Quantity = Literal["prediction", "duration", "event", "label", "input"]
#: Aggregates for longitudinal data read by static-only models.
FlattenStat = Literal["last", "first", "mean", "min", "max", "std", "count"]
CalibrationMethod = Literal["isotonic", "sigmoid", "temperature", "beta", "cloglog"]


class Section(BaseModel):
    """Base of every section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False, validate_default=True)


class Open(BaseModel):
    """Base of ``_target_`` sections: extra keys are the target's arguments."""

    model_config = ConfigDict(extra="allow", populate_by_name=False)

    target: str = Field(alias="_target_", min_length=1)

    @property
    def arguments(self) -> dict[str, Any]:
        """The keys other than ``_target_`` / ``_adapter_`` (the target's arguments)."""
        return dict(self.model_extra or {})


class FileData(Section):
    """A cohort read from CSV/Parquet files (the arguments of :class:`lightsaber.Cohort`).

    ``causes`` declares competing risks: ``event`` then holds 0 (censored) or a cause code,
    and ``causes`` maps each code to its name (``{1: death, 2: discharge}``; the names appear
    in the per-cause metric names, ``test_wolbers_c_death``), or lists the codes (``[1, 2]``,
    named ``cause1``, ``cause2``).
    """

    static: str | None = None
    targets: str | None = None
    longitudinal: str | None = None
    id: str
    label: str | None = None
    positive: bool | int | float | str | None = None
    classes: list[bool | int | float | str] | None = None
    duration: str | None = None
    event: str | None = None
    causes: dict[int, str] | None = None
    time: str | None = None
    features: list[str] | str | None = None
    exclude: list[str] = []
    categorical: list[str] | Literal["infer"] | None = "infer"
    longitudinal_features: list[str] | str | None = None
    meta: list[str] = []
    sort_longitudinal: bool = False

    @field_validator("causes", mode="before")
    @classmethod
    def _codes(cls, value: Any) -> Any:
        """A list of codes names them ``cause<k>``, as :class:`lightsaber.Cohort` does."""
        if isinstance(value, list):
            return {code: f"cause{code}" for code in value}
        return value


class CallSpec(Open):
    """Any ``_target_`` call; the other keys are its keyword arguments."""

    partial: bool = Field(False, alias="_partial_")
    call: bool = Field(True, alias="_call_")


def _kind(value: Any) -> str:
    """``"call"`` for a ``_target_`` mapping (or a parsed call), else ``"plain"``."""
    if isinstance(value, BaseModel):
        return "call" if isinstance(value, Open) else "plain"
    return "call" if isinstance(value, dict) and "_target_" in value else "plain"


DataSpec = Annotated[
    Annotated[FileData, Tag("plain")] | Annotated[CallSpec, Tag("call")],
    Discriminator(_kind),
]


class SplitSpec(Section):
    """How patients are split (see :meth:`lightsaber.Splits.random` / ``from_column``)."""

    val: Annotated[float, Field(ge=0, lt=1)] = 0.15
    test: Annotated[float, Field(ge=0, lt=1)] = 0.15
    calibration: Annotated[float, Field(ge=0, lt=1)] = 0.0
    stratify: str | None = None
    group: str | None = None
    folds: Annotated[int, Field(ge=2)] | None = None
    seed: int = 0
    column: str | None = None
    mapping: dict[str, str] | None = None


class SequenceSpec(Section):
    """Arguments of :class:`lightsaber.SequencePreprocessor`."""

    grid: tuple[float, float, float] | None = None
    max_steps: PositiveInt | None = None
    keep: Literal["first", "last", "mean"] = "first"
    forward_fill: bool = True
    scale: bool = True
    fill_value: float = 0.0
    observed_indicators: bool = False


class TabularSpec(Section):
    """Arguments of :class:`lightsaber.data.preprocess.TabularPreprocessor`."""

    numeric_imputation: Literal["median", "mean", "most_frequent"] = "median"
    missing_indicator: bool = True
    scale: bool = True
    min_frequency: PositiveFloat | None = None


class PreprocessSpec(Section):
    """Preprocessing fitted on the train split."""

    tabular: TabularSpec = TabularSpec()
    sequence: SequenceSpec | None = None
    flatten: list[FlattenStat] | None = ["last", "mean", "min", "max", "count"]
    flatten_window: tuple[float | None, float | None] | None = None


class AdapterSpec(Section):
    """Map a custom loss's or metric's arguments onto what the pipeline provides.

    ``arguments``: ``{argument name: quantity}``; ``transform``: ``{quantity: name}`` with a
    name from :data:`lightsaber.config.adapters.TRANSFORMS` or a ``_target_`` mapping.
    """

    arguments: dict[str, Quantity] = {}
    transform: dict[Quantity, Annotated[Annotated[str, Tag("plain")]
                                        | Annotated[CallSpec, Tag("call")],
                                        Discriminator(_kind)]] = {}


class NetworkSpec(Open):
    """The ``nn.Module`` class of a net; other keys become ``module__<key>`` arguments."""


class LossSpec(Open):
    """A custom loss function or ``nn.Module`` class; other keys are its options."""

    adapter: AdapterSpec | None = Field(None, alias="_adapter_")


class ModelSpec(Open):
    """The estimator: any scikit-learn / scikit-survival estimator or a lightsaber net."""

    network: NetworkSpec | None = None
    loss: Annotated[Annotated[str, Tag("plain")] | Annotated[LossSpec, Tag("call")],
                    Discriminator(_kind)] | None = None


class TrainerSpec(Section):
    """Training settings; the net-only ones are rejected for other estimators."""

    max_epochs: PositiveInt | None = None
    batch_size: PositiveInt | None = None
    lr: PositiveFloat | None = None
    optimizer: str | None = None
    device: str | None = None
    gradient_clip: PositiveFloat | None = None
    early_stopping: PositiveInt | None = None
    monitor: str | None = None
    progress: bool = True

    @field_validator("device")
    @classmethod
    def _device(cls, value: str | None) -> str | None:
        if value is not None and value not in ("auto", "cpu") and not value.startswith("cuda"):
            raise ValueError("device must be 'auto', 'cpu' or 'cuda[:n]'")
        return value


class CalibrationSpec(Section):
    """Post-hoc calibration, passed to ``ls.fit(calibrate=...)`` when a method is set."""

    method: CalibrationMethod | None = None
    horizons: list[PositiveFloat] | None = None


class EvaluationSpec(Section):
    """How splits are evaluated: ``times`` is the survival evaluation grid (``ls.fit(times=)``).

    Without ``times``, survival metrics use 50 quantiles (5 % to 95 %) of the training event
    times; ``ibs``, ``ibll`` and ``cumulative_auc`` integrate over the whole grid. Competing
    risks: the times the cumulative incidences are evaluated at (default: the event times of
    any cause), integrated over by ``cause_specific_auc`` and ``ibs_competing``.
    """

    times: Annotated[list[PositiveFloat], Field(min_length=2)] | None = None

    @field_validator("times")
    @classmethod
    def _increasing(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and any(b <= a for a, b in zip(value, value[1:], strict=False)):
            raise ValueError("times must be strictly increasing")
        return value


class TuningSpec(Section):
    """A hyperparameter study (:func:`lightsaber.tuning.tune`).

    ``space: default`` (the default) searches the model's documented default space
    (:func:`lightsaber.tuning.default_space`); a mapping is a space of its own. ``algorithm``
    takes the values of :data:`lightsaber.tuning.ALGORITHMS`; ``baseline`` is the reference
    configuration of the ``ofat`` and ``factorial`` designs.
    """

    space: Any = "default"
    algorithm: Literal["tpe", "random", "grid", "ofat", "factorial"] = "tpe"
    baseline: dict[str, Any] | None = None
    max_trials: PositiveInt = 20
    metric: str | None = None
    backend: Literal["local", "ray"] = "local"
    address: str | None = None
    resume: bool = True
    study_name: str | None = None
    refit: bool = True

    @field_validator("space")
    @classmethod
    def _default_or_mapping(cls, value: Any) -> Any:
        # Not a ``dict | Literal`` union: pydantic would put the union member in the key path.
        if value == "default":
            return value
        if not isinstance(value, dict):
            raise ValueError(f"must be 'default' or a mapping of parameter names to specs; "
                             f"got {value!r}")
        if not value:
            raise ValueError("the search space is empty; give at least one parameter or "
                             "write 'default'")
        return value


class MetricSpec(Open):
    """A custom metric: a function of the mapped pipeline quantities, logged per split."""

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    adapter: AdapterSpec | None = Field(None, alias="_adapter_")


class TrackingSpec(Section):
    """Where and how the run is recorded in MLflow."""

    enabled: bool = True
    experiment: str = "lightsaber"
    tracking_uri: str | None = None
    run_name: str | None = None
    tags: dict[str, str] = {}
    log_model: bool = True


class ExperimentConfig(Section):
    """A whole experiment. Only ``data`` and ``model`` are required."""

    name: str | None = None
    project: str | None = None
    seed: int = 0
    task: Literal["classification", "survival", "competing"] | None = None
    data: DataSpec
    split: SplitSpec = SplitSpec()
    preprocess: PreprocessSpec = PreprocessSpec()
    model: ModelSpec
    trainer: TrainerSpec = TrainerSpec()
    calibration: CalibrationSpec = CalibrationSpec()
    evaluation: EvaluationSpec = EvaluationSpec()
    tuning: TuningSpec | None = None
    metrics: list[Annotated[Annotated[str, Field(min_length=1), Tag("plain")]
                            | Annotated[MetricSpec, Tag("call")],
                            Discriminator(_kind)]] | None = None
    tracking: TrackingSpec = TrackingSpec()

    def resolved(self) -> dict[str, Any]:
        """The config with every default filled, as plain data (what MLflow stores)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=False)


#: Tags pydantic adds to error locations of tagged unions (dropped from key paths).
UNION_TAGS = ("plain", "call")
