"""Read, merge, override, interpolate and validate experiment configs.

OmegaConf merges the files in order, applies ``key.path=value`` overrides and resolves
``${other.key}`` interpolations; pydantic then checks the result against
:class:`~lightsaber.config.schema.ExperimentConfig`. Relative file paths (``data.static``,
``data.targets``, ``data.longitudinal``, ``project``) are taken relative to the config file that
sets them, so a config folder can be moved as a whole.

``${runtime:n_features}`` (and the other :data:`RUNTIME_KEYS`) stand for values known only
after preprocessing; they are filled in when the model is built.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from lightsaber.config.errors import format_path, unknown_key
from lightsaber.config.schema import UNION_TAGS, ExperimentConfig
from lightsaber.exceptions import ConfigError, Issue

__all__ = ["RUNTIME_KEYS", "RUNTIME_PREFIX", "load_config", "merge_sources", "validate"]

#: Values known after preprocessing, usable as ``${runtime:<name>}``.
RUNTIME_KEYS = ("n_features", "n_sequence_features", "n_steps", "n_train", "n_classes")
#: How a runtime reference looks once interpolation has run (and in the logged config).
RUNTIME_PREFIX = "@runtime:"
_PATH_KEYS = (("data", "static"), ("data", "targets"), ("data", "longitudinal"), ("project",))


def _runtime(name: str) -> str:
    if name not in RUNTIME_KEYS:
        raise ValueError(f"unknown runtime value {name!r}; known: {', '.join(RUNTIME_KEYS)}")
    return f"{RUNTIME_PREFIX}{name}"


def _register_resolvers() -> None:
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("runtime"):
        OmegaConf.register_resolver("runtime", _runtime, annotation_validation="off")


def _absolute_paths(data: dict[str, Any], base: Path) -> None:
    for keys in _PATH_KEYS:
        node: Any = data
        for key in keys[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            continue
        value = node.get(keys[-1])
        if isinstance(value, str) and value and "${" not in value and "://" not in value:
            path = Path(value).expanduser()
            node[keys[-1]] = str(path if path.is_absolute() else (base / path).resolve())


def _read_file(path: Path) -> dict[str, Any]:
    import yaml

    if not path.is_file():
        raise ConfigError.at(str(path), "config file not found",
                             allowed="a readable YAML file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError.at(str(path), f"not valid YAML: {exc}".replace("\n", " ")) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError.at(str(path), f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                             hint="save the file with UTF-8 encoding") from exc
    except OSError as exc:
        raise ConfigError.at(str(path), f"cannot be read: {exc.strerror or exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError.at(str(path), "a config file must hold a mapping of sections",
                             value=type(data).__name__)
    return data


def merge_sources(sources: Sequence[str | Path | Mapping[str, Any]],
                  overrides: Iterable[str] = (), base_dir: str | Path | None = None
                  ) -> dict[str, Any]:
    """Merge config files / mappings in order, apply overrides, resolve interpolations.

    Parameters
    ----------
    sources : sequence of path or mapping
        YAML files or already-parsed mappings (relative paths in a mapping are taken relative
        to ``base_dir``, default the working directory).
    overrides : iterable of str
        ``key.path=value`` strings (values parsed as YAML: ``trainer.max_epochs=5``,
        ``model.network.hidden=[64,64]``).

    Returns
    -------
    dict
        Plain data, interpolations resolved, not yet validated.

    Examples
    --------
    >>> merge_sources([{"a": {"b": 1}, "c": "${a.b}"}], ["a.b=2"])
    {'a': {'b': 2}, 'c': 2}
    """
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    _register_resolvers()
    cwd = Path(base_dir) if base_dir is not None else Path.cwd()
    layers = []
    for source in sources:
        if isinstance(source, Mapping):
            data, base = dict(_plain(source)), cwd
        else:
            path = Path(source)  # keys as strings everywhere (int keys: data.causes)
            data, base = dict(_plain(_read_file(path))), path.resolve().parent
        _absolute_paths(data, base)
        try:
            layers.append(OmegaConf.create(data))
        except OmegaConfBaseException as exc:
            raise ConfigError.at(str(source) if not isinstance(source, Mapping) else "<root>",
                                 f"cannot read: {exc}") from exc
    for item in overrides:
        if "=" not in item or not item.split("=", 1)[0].strip():
            raise ConfigError.at(item, "an override must look like key.path=value",
                                 value=item, allowed="e.g. trainer.max_epochs=5")
        key = item.split("=", 1)[0].strip()
        try:
            layer = OmegaConf.from_dotlist([item])
        except OmegaConfBaseException as exc:
            raise ConfigError.at(key, f"cannot parse override: {exc}", value=item) from exc
        data = _plain(OmegaConf.to_container(layer, resolve=False))
        _absolute_paths(data, cwd)
        layers.append(OmegaConf.create(data))
    try:
        merged = OmegaConf.merge(*layers) if layers else OmegaConf.create({})
    except OmegaConfBaseException as exc:
        raise ConfigError.at(getattr(exc, "full_key", None) or "<root>",
                             f"cannot merge: {exc.msg if hasattr(exc, 'msg') else exc}") from exc
    try:
        return OmegaConf.to_container(merged, resolve=True)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or "<root>"
        message = str(getattr(exc, "msg", exc)).splitlines()[0]
        raise ConfigError.at(key, f"cannot resolve interpolation: {message}") from exc


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def validate(data: Mapping[str, Any]) -> ExperimentConfig:
    """Check merged config data against the schema; every problem in one :class:`ConfigError`.

    Examples
    --------
    >>> validate({"data": {"id": "pid", "static": "x.csv"}, "model": {"_target_": "m"},
    ...           "trainer": {"max_epochs": -3}})
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.ConfigError: invalid config: trainer.max_epochs: ...
    """
    try:
        return ExperimentConfig.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError([_issue(err) for err in exc.errors()]) from None


def load_config(*sources: str | Path | Mapping[str, Any], overrides: Iterable[str] = (),
                base_dir: str | Path | None = None) -> ExperimentConfig:
    """Merge, override, interpolate and validate: the config of one experiment.

    Examples
    --------
    >>> cfg = load_config({"data": {"_target_": "lightsaber.data.datasets.load_sksurv",
    ...                             "name": "whas500"},
    ...                    "model": {"_target_": "sksurv.linear_model.CoxPHSurvivalAnalysis"}},
    ...                   overrides=["split.seed=3"])
    >>> cfg.split.seed, cfg.trainer.max_epochs
    (3, None)
    """
    return validate(merge_sources(sources, overrides, base_dir))


# ---------------------------------------------------------------------- pydantic errors
def _model_at(loc: Sequence[Any]) -> type[BaseModel] | None:
    """The schema class whose field sits at ``loc`` (for did-you-mean on unknown keys)."""
    cls: Any = ExperimentConfig
    for part in loc:
        if part in UNION_TAGS or isinstance(part, int):
            if part in UNION_TAGS and isinstance(cls, tuple):
                cls = cls[0] if part == "plain" else cls[-1]
            continue
        if isinstance(cls, tuple):
            cls = cls[-1]
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
            return None
        field = next((f for n, f in cls.model_fields.items() if part in (n, f.alias)), None)
        if field is None:
            return None
        models = _models_in(field.annotation)
        cls = models[0] if len(models) == 1 else tuple(models) if models else None
    if isinstance(cls, tuple):
        cls = cls[-1]
    return cls if isinstance(cls, type) and issubclass(cls, BaseModel) else None


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        out.extend(m for m in _models_in(arg) if m not in out)
    return out


def _field_names(cls: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in cls.model_fields.items()]


def _issue(err: Mapping[str, Any]) -> Issue:
    loc = [p for p in err["loc"] if p not in UNION_TAGS and p != "[key]"]  # a mapping's key
    path = format_path(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        cls = _model_at(err["loc"][:-1])
        return unknown_key(path, str(loc[-1]), _field_names(cls) if cls else [])
    if kind == "missing":
        return Issue(path, "required key is missing")
    allowed = _allowed(err)
    return Issue(path, err["msg"].removeprefix("Value error, "), err.get("input"), allowed)


def _allowed(err: Mapping[str, Any]) -> str:
    ctx = err.get("ctx") or {}
    kind = err["type"]
    if kind == "literal_error":
        return str(ctx.get("expected", ""))
    for key, text in (("gt", "> {}"), ("ge", ">= {}"), ("lt", "< {}"), ("le", "<= {}")):
        if key in ctx:
            return "a number " + text.format(ctx[key])
    return {"int_parsing": "an integer", "int_type": "an integer", "int_from_float": "an integer",
            "float_parsing": "a number", "float_type": "a number", "bool_parsing": "true/false",
            "bool_type": "true/false", "string_type": "a string", "dict_type": "a mapping",
            "list_type": "a list", "model_type": "a mapping", "model_attributes_type":
            "a mapping", "too_short": "a non-empty value", "string_pattern_mismatch":
            f"a name matching {ctx.get('pattern', '')}"}.get(kind, "")
