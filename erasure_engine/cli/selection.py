"""The one way every command names what to forget: `--subject-key KEY` and `--record-id ID`
(repeatable). The spellings earlier releases used (`--forget-subject-key`, `--forget-subject`,
`--forget-record-id`, `--forget-record`) still work for one release, with a warning."""

from __future__ import annotations

import argparse
import sys

DEPRECATED = {
    "--forget-subject-key": "--subject-key",
    "--forget-subject": "--subject-key",
    "--forget-record-id": "--record-id",
    "--forget-record": "--record-id",
}


class _Collect(argparse.Action):
    """Appends like action="append", and says so when an old spelling was used."""

    def __call__(self, parser, namespace, values, option_string=None):
        if option_string in DEPRECATED:
            print(
                f"warning: {option_string} is deprecated and goes in the next release; use {DEPRECATED[option_string]}",
                file=sys.stderr,
            )
        items = list(getattr(namespace, self.dest, None) or [])
        items.append(values)
        setattr(namespace, self.dest, items)


def forget_selection_arguments(parser: argparse.ArgumentParser, *, what: str = "to forget") -> None:
    subjects = [name for name, new in DEPRECATED.items() if new == "--subject-key"]
    records = [name for name, new in DEPRECATED.items() if new == "--record-id"]
    parser.add_argument(
        "--subject-key",
        *subjects,
        dest="subject_key",
        action=_Collect,
        default=[],
        help=f"subject key {what} (repeatable)",
    )
    parser.add_argument(
        "--record-id", *records, dest="record_id", action=_Collect, default=[], help=f"record id {what} (repeatable)"
    )
