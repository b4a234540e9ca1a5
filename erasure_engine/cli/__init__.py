"""`erasure-engine` command line.

Each `<area>_commands` module exposes `register(subparsers)`, adding its subcommands; every
subcommand's handler takes the parsed args and returns an exit code. Engine errors become a
one-line message on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from erasure_engine.errors import EngineError

COMMAND_MODULES = (
    "erasure_engine.cli.data_commands",
    "erasure_engine.cli.model_commands",
    "erasure_engine.cli.exact_commands",
    "erasure_engine.cli.approximate_commands",
    "erasure_engine.cli.verify_commands",
    "erasure_engine.cli.evidence_commands",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="erasure-engine",
        description="Generate data, train (SISA) models, erase subjects, unlearn and verify.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name == module_name:
                continue  # that command group is not built yet
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        return int(args.handler(args) or 0)
    except EngineError as error:
        print(f"error [{error.code}]: {error.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
