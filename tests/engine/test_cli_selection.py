"""One spelling for the forget selection in every command (--subject-key, --record-id); the old
spellings still parse for one release, into the same options, with a warning."""

from __future__ import annotations

import pytest

from erasure_engine.cli import build_parser

COMMANDS = {
    "erase": ["erase", "--store", "s", "--dataset", "d"],
    "unlearn-exact": ["unlearn-exact", "--store", "s", "--name", "n", "--version", "v"],
    "unlearn-approx": ["unlearn-approx", "--method", "npo", "--model", "m", "--output", "o"],
    "verify": ["verify", "--candidate", "c", "--parent", "p", "--holdout", "h", "--out", "o"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_names_the_forget_selection_the_same_way(command, capsys):
    args = build_parser().parse_args(
        [*COMMANDS[command], "--subject-key", "k1", "--subject-key", "k2", "--record-id", "r1"]
    )
    assert (args.subject_key, args.record_id) == (["k1", "k2"], ["r1"])
    assert "deprecated" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("--forget-subject-key", "--subject-key", "subject_key"),
        ("--forget-subject", "--subject-key", "subject_key"),
        ("--forget-record-id", "--record-id", "record_id"),
        ("--forget-record", "--record-id", "record_id"),
    ],
)
def test_old_spellings_still_work_with_a_warning(old, new, field, capsys):
    args = build_parser().parse_args([*COMMANDS["verify"], old, "x"])
    assert getattr(args, field) == ["x"]
    warning = capsys.readouterr().err
    assert f"{old} is deprecated" in warning and f"use {new}" in warning
