"""Command-line entry point: ``lightsaber <command>``.

Commands: ``fit``, ``evaluate``, ``tune``, ``predict``, ``report``, ``register``, ``validate``,
``reproduce``, ``init`` and ``demo``. Config commands take one or more YAML files (merged in
order) and ``key.path=value`` overrides. Exit status: 0 success, 2 config or usage error (one
clear message; nothing is run or tracked), 1 run failure. ``--debug`` shows the traceback.

This module only parses arguments, dispatches, prints and maps errors to exit statuses; each
command's work is a public function of the layer that owns it (``lightsaber.config`` and its
``evaluate``, ``reproduce`` and ``tuning`` modules, ``lightsaber.serving``,
``lightsaber.reports``, ``lightsaber.tracking.model_registry``, ``lightsaber.demo``).
Validation steps run outside ``_running`` (their errors exit 2), the run itself inside it.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from lightsaber.exceptions import LightsaberError, Unavailable

__all__ = ["main"]


class RunFailure(Exception):
    """A run failed after its config was validated (exit status 1)."""


def _optional(module: str, feature: str) -> Any:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            raise Unavailable(f"{feature} is not available in this lightsaber installation "
                              f"(no module {module!r}).") from None
        raise


def _split_items(items: Sequence[str]) -> tuple[list[str], list[str]]:
    files = [i for i in items if "=" not in i]
    overrides = [i for i in items if "=" in i]
    return files, overrides


def _prepare(args: argparse.Namespace, extra: Sequence[str] = ()) -> Any:
    from lightsaber.config import load_config, prepare
    from lightsaber.exceptions import ConfigError

    files, overrides = _split_items(args.items)
    if not files:
        raise ConfigError.at("<command line>", "no config file given",
                             allowed="lightsaber <command> CONFIG.yaml [key.path=value ...]")
    config = load_config(*files, overrides=[*overrides, *extra])
    return prepare(config)


def _progress(args: argparse.Namespace, total: int, desc: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=args.no_progress, leave=False, file=sys.stderr)


def _running(step: Any, *a: Any, **kw: Any) -> Any:
    """Call ``step``; any error is a run failure (the config was valid)."""
    from lightsaber.exceptions import CohortError, ConfigError

    try:
        return step(*a, **kw)
    except (ConfigError, Unavailable, CohortError):
        raise  # the user's input (config, data file, schema): exit 2
    except Exception as exc:
        raise RunFailure(f"{type(exc).__name__}: {exc}") from exc


def _print_metrics(metrics: Mapping[str, Mapping[str, float]], splits: Sequence[str]) -> None:
    for split in splits:
        values = metrics.get(split, {})
        if values:
            shown = ", ".join(f"{k} {v:.4f}" for k, v in values.items())
            print(f"  {split:<5} {shown}")


def _overrides_for(args: argparse.Namespace) -> list[str]:
    extra = []
    if getattr(args, "tracking_uri", None):
        extra.append(f"tracking.tracking_uri={args.tracking_uri}")
    if getattr(args, "no_track", False):
        extra.append("tracking.enabled=false")
    return extra


# ---------------------------------------------------------------------- commands
def _validate(args: argparse.Namespace) -> int:
    exp = _prepare(args)
    cfg = exp.config
    sizes = ", ".join(f"{k} {len(v)}" for k, v in exp.splits.indices.items() if len(v))
    print(f"config OK: {exp.task} experiment, model {type(exp.model).__name__}, "
          f"{exp.cohort.n_patients} patients ({sizes})")
    if cfg.tuning is not None:
        print(f"  tuning: {len(cfg.tuning.space)} parameter(s), {cfg.tuning.max_trials} trials")
    if args.show:
        import yaml

        print(yaml.safe_dump(exp.resolved_config, sort_keys=False), end="")
    return 0


def _fit(args: argparse.Namespace) -> int:
    from lightsaber.config import run_fit

    bar = _progress(args, 2, "validate")
    exp = _prepare(args, _overrides_for(args))
    bar.set_description("fit")
    bar.update()
    run = _running(run_fit, exp, progress=not args.no_progress and exp.config.trainer.progress)
    bar.update()
    bar.close()
    where = f"run {run.run_id}" if run.run_id else "not tracked"
    print(f"fitted {type(exp.model).__name__} ({exp.task}), {where}")
    _print_metrics(run.metrics, ("val", "test"))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from lightsaber.config.evaluate import prepare_evaluation

    files, overrides = _split_items(args.items)
    plan = prepare_evaluation(args.run, *files, overrides=overrides, splits=args.split,
                              tracking_uri=args.tracking_uri)
    results = _running(plan.run)
    print(f"evaluated run {args.run} ({plan.experiment.task})")
    _print_metrics(results, args.split)
    return 0


def _tune(args: argparse.Namespace) -> int:
    _optional("lightsaber.tuning", "tuning (`lightsaber tune`)")
    from lightsaber.config.tuning import run_tune

    exp = _prepare(args, _overrides_for(args))
    result = _running(run_tune, exp, max_trials=args.max_trials, progress=not args.no_progress)
    best = getattr(result, "best_params", None)
    value = getattr(result, "best_value", None)
    print(f"tuned {type(exp.model).__name__}: best {exp.config.tuning.metric or 'score'} "
          f"{value}, params {best}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    serving = _optional("lightsaber.serving", "prediction (`lightsaber predict`)")
    if args.times is not None:  # a usage error (exit 2), before any model is loaded
        from lightsaber.serving.pipeline import check_prediction_times

        check_prediction_times(args.times)
    out = _running(serving.predict_file, args.model_uri, args.data, args.out, times=args.times,
                   tracking_uri=args.tracking_uri)
    print(f"predictions written to {out}")
    return 0


def _report(args: argparse.Namespace) -> int:
    reports = _optional("lightsaber.reports", "reports (`lightsaber report`)")
    out = _running(reports.write_report, args.out, experiment=args.experiment,
                   runs=args.run or None, tracking_uri=args.tracking_uri, log=not args.no_log)
    print(f"report written to {out}")
    return 0


def _register(args: argparse.Namespace) -> int:
    from lightsaber.exceptions import MixedSplitsWarning
    from lightsaber.tracking.model_registry import register_best, register_run

    if args.run_id:
        version = _running(register_run, args.run_id, args.name,
                           tracking_uri=args.tracking_uri, alias=args.alias)
    else:
        if not (args.experiment and args.metric):
            raise Unavailable("register needs --run RUN_ID, or --experiment and --metric to "
                              "pick the best run.")
        with warnings.catch_warnings(record=True) as caught:  # shown every time, on stderr
            warnings.simplefilter("always", MixedSplitsWarning)
            version = _running(register_best, args.name, experiment=args.experiment,
                               metric=args.metric, split=args.split,
                               tracking_uri=args.tracking_uri, alias=args.alias,
                               allow_mixed_splits=args.allow_mixed_splits)
        for warning in caught:
            if issubclass(warning.category, MixedSplitsWarning):
                _warn(str(warning.message))
            else:
                warnings.warn_explicit(warning.message, warning.category, warning.filename,
                                       warning.lineno)
    print(f"registered models:/{args.name}/{version.version}"
          + (f" (alias {args.alias})" if args.alias else ""))
    return 0


def _reproduce(args: argparse.Namespace) -> int:
    from lightsaber.config.reproduce import prepare_reproduction

    plan = prepare_reproduction(args.run_id, tracking_uri=args.tracking_uri)
    result = _running(plan.run, progress=not args.no_progress)
    for note in result.notes:
        _warn(note)
    if not result.reproduced:
        lines = ", ".join(f"{k}: {was} -> {now}" for k, (was, now) in result.differences.items())
        why = f"; {result.data_note}" if result.data_note else ""
        raise RunFailure(f"run {result.run_id} did not reproduce run {args.run_id}: {lines}{why}")
    print(f"reproduced run {args.run_id} as run {result.run_id}: all {len(result.metrics)} test "
          "metrics identical" + (f", on the same data (fingerprint {result.fingerprint[:12]})"
                                 if result.same_data else ""))
    _print_metrics({"test": result.metrics}, ("test",))
    return 0


def _warn(message: str) -> None:
    print(f"lightsaber: warning: {message}", file=sys.stderr)


def _init(args: argparse.Namespace) -> int:
    from lightsaber.config.scaffold import scaffold

    path = scaffold(args.directory, force=args.force)
    print(f"wrote {path} and the sample data in {path.parent / 'data'}\n"
          f"next: cd {path.parent} && lightsaber fit {path.name}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from lightsaber.demo import run_demo

    run_demo(n_patients=args.patients, seed=args.seed, progress=not args.no_progress,
             train=not args.data_only)
    return 0


# ---------------------------------------------------------------------- parser
_ITEMS_HELP = ("config files (merged in order) and key.path=value overrides, "
               "e.g. experiment.yaml trainer.max_epochs=5")


def _command(commands: Any, name: str, handler: Any, help: str, description: str
             ) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=help, description=description)
    parser.set_defaults(handler=handler)
    return parser


def _config_args(parser: argparse.ArgumentParser, track: bool = True) -> None:
    parser.add_argument("items", nargs="*", metavar="CONFIG|KEY=VALUE", help=_ITEMS_HELP)
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    if track:
        parser.add_argument("--tracking-uri", default=None,
                            help="MLflow tracking URI (default: the config, "
                                 "$MLFLOW_TRACKING_URI, else ./mlflow.db)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``lightsaber`` command."""
    parser = argparse.ArgumentParser(
        prog="lightsaber", description=__doc__.splitlines()[0],
        epilog="exit status: 0 success, 2 config/usage error, 1 run failure")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True)

    fit = _command(commands, "fit", _fit, "fit, evaluate and track an experiment config",
                   "Validate the config, then fit the model on train, early-stop on val, "
                   "evaluate every split and record the run (with the resolved config) in "
                   "MLflow.")
    _config_args(fit)
    fit.add_argument("--no-track", action="store_true", help="do not record the run in MLflow")

    val = _command(commands, "validate", _validate, "check a config without running it",
                   "Load, merge and validate the config, read the data headers, build the "
                   "model and check every argument; nothing is fitted or tracked.")
    _config_args(val, track=False)
    val.add_argument("--show", action="store_true", help="print the resolved config (YAML)")

    ev = _command(commands, "evaluate", _evaluate, "evaluate a logged model on a config's data",
                  "Load the model logged by a run and report the config's metrics on the "
                  "chosen splits (the run's own config when no config file is given).")
    ev.add_argument("--run", required=True, help="MLflow run id of the model")
    ev.add_argument("--split", nargs="+", default=["test"], help="splits (default: test)")
    _config_args(ev)

    tune = _command(commands, "tune", _tune, "run the config's hyperparameter study",
                    "Search the config's `tuning.space` on the validation split (hyperopt "
                    "locally, or Ray), then refit the best model.")
    _config_args(tune)
    tune.add_argument("--max-trials", type=int, default=None,
                      help="override tuning.max_trials")

    pred = _command(commands, "predict", _predict, "predict with a logged model",
                    "Apply a logged model (runs:/<id>/model or models:/<name>/<version>) to "
                    "a CSV/Parquet file and write the predictions.")
    pred.add_argument("--model", dest="model_uri", required=True,
                      help="MLflow model URI, e.g. models:/NAME/1 or runs:/RUN_ID/model")
    pred.add_argument("--data", required=True, help="input table (CSV or Parquet)")
    pred.add_argument("--out", required=True,
                      help="output file (.parquet or .csv); nothing is written on error")
    pred.add_argument("--times", type=float, nargs="+", default=None,
                      help="survival models: survival probabilities at these times; "
                           "competing risks: each cause's cumulative incidence "
                           "(cif_<cause>_<t> columns)")
    pred.add_argument("--tracking-uri", default=None, help="MLflow tracking URI")

    rep = _command(commands, "report", _report, "write an HTML report of runs",
                   "Write a report of an experiment's runs (or of chosen runs).")
    rep.add_argument("--out", default="report.html",
                     help="output HTML file (default report.html)")
    rep.add_argument("--experiment", default=None, help="MLflow experiment name")
    rep.add_argument("--runs", "--run", dest="run", action="extend", nargs="+", default=[],
                     help="run ids (instead of, or within, --experiment)")
    rep.add_argument("--tracking-uri", default=None, help="MLflow tracking URI")
    rep.add_argument("--no-log", action="store_true",
                     help="only write the file; do not log it to a report run (for a reader "
                          "without EDIT permission on a shared server)")

    reg = _command(commands, "register", _register, "register a run in the model registry",
                   "Register a run's pipeline as a new version of a registered model: a chosen "
                   "run, or the experiment's best run on a validation metric.")
    reg.add_argument("--name", required=True, help="registered model name")
    reg.add_argument("--run", dest="run_id", default=None, help="run id to register")
    reg.add_argument("--experiment", default=None, help="pick the best run of this experiment")
    reg.add_argument("--metric", default=None, help="registry metric to pick by, e.g. auc_roc")
    reg.add_argument("--split", default="val", help="split the metric is read on (default val)")
    reg.add_argument("--alias", default=None, help="alias to point at the new version")
    reg.add_argument("--allow-mixed-splits", action="store_true",
                     help="with --experiment: compare runs evaluated on different splits "
                          "(tag lightsaber.split_hash) instead of refusing")
    reg.add_argument("--tracking-uri", default=None, help="MLflow tracking URI")

    rep = _command(commands, "reproduce", _reproduce, "re-run a logged run and compare",
                   "Re-run the resolved config logged with RUN_ID and check that the test "
                   "metrics are identical (exit 1 when they are not).")
    rep.add_argument("run_id", metavar="RUN_ID", help="MLflow run id")
    rep.add_argument("--tracking-uri", default=None, help="MLflow tracking URI")
    rep.add_argument("--no-progress", action="store_true", help="hide progress bars")

    init = _command(commands, "init", _init, "scaffold an experiment folder",
                    "Write experiment.yaml and the sample cohort into DIRECTORY; "
                    "`lightsaber fit experiment.yaml` then works as is.")
    init.add_argument("directory", nargs="?", default=".", help="folder (default: here)")
    init.add_argument("--force", action="store_true", help="overwrite experiment.yaml")

    demo = _command(commands, "demo", _demo,
                    "run the main job end to end on the bundled sample cohort",
                    "Ingest, split and preprocess the bundled synthetic in-hospital-mortality "
                    "cohort, then fit, evaluate and track two models in MLflow.")
    demo.add_argument("--patients", type=int, default=None,
                      help="generate a cohort of this size instead of reading data_samples/")
    demo.add_argument("--seed", type=int, default=7, help="split seed (default 7)")
    demo.add_argument("--no-progress", action="store_true", help="hide progress bars")
    demo.add_argument("--data-only", action="store_true",
                      help="stop after preprocessing (no training or tracking)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 run failure, 2 usage/input error)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # overrides given after an option, e.g. `fit x.yaml --no-progress a.b=1`
        if not hasattr(args, "items") or any(item.startswith("-") for item in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.items = [*args.items, *extra]
    previous = warnings.showwarning
    warnings.showwarning = _show_warning(previous)
    try:
        return args.handler(args)
    except LightsaberError as exc:
        if args.debug:
            raise
        print(f"lightsaber: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a run failure, not a user mistake
        if args.debug:
            if isinstance(exc, RunFailure) and exc.__cause__ is not None:
                raise exc.__cause__ from None  # the original error and its traceback
            raise
        text = str(exc) if isinstance(exc, RunFailure) else f"{type(exc).__name__}: {exc}"
        print(f"lightsaber: run failed: {text} (use --debug for details)", file=sys.stderr)
        return 1
    finally:
        warnings.showwarning = previous


def _show_warning(previous: Any) -> Any:
    """Show lightsaber's warnings as ``lightsaber: warning: ...`` lines, others unchanged.

    A command's warnings are about the user's data or settings, not about a line of code: the
    file and line Python would print are those of the ``lightsaber`` script itself.
    """
    from lightsaber.exceptions import LightsaberWarning

    def show(message: Any, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:
        if issubclass(category, LightsaberWarning):
            _warn(str(message))
        else:
            previous(message, category, filename, lineno, file, line)

    return show


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
