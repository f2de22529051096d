"""Command-line entry point: ``lightsaber <command>``.

Commands so far: ``demo`` (the main job on the bundled sample cohort). Errors in user input exit
with status 2 and one clear message; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from lightsaber.exceptions import LightsaberError

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    from lightsaber.demo import run_demo

    run_demo(n_patients=args.patients, seed=args.seed, progress=not args.no_progress,
             train=not args.data_only)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``lightsaber`` command."""
    parser = argparse.ArgumentParser(prog="lightsaber", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="run the main job end to end on the bundled sample cohort",
        description="Ingest, split and preprocess the bundled synthetic in-hospital-mortality "
                    "cohort, then fit, evaluate and track two models in MLflow.")
    demo.add_argument("--patients", type=int, default=None,
                      help="generate a cohort of this size instead of reading data_samples/")
    demo.add_argument("--seed", type=int, default=7, help="split seed (default 7)")
    demo.add_argument("--no-progress", action="store_true", help="hide progress bars")
    demo.add_argument("--data-only", action="store_true",
                      help="stop after preprocessing (no training or tracking)")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 run failure, 2 usage/input error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except LightsaberError as exc:
        if args.debug:
            raise
        print(f"lightsaber: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a run failure, not a user mistake
        if args.debug:
            raise
        print(f"lightsaber: run failed: {type(exc).__name__}: {exc} (use --debug for details)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
