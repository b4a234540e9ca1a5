"""The audit trail's vocabulary (core/audit_actions.py) holds: every action written anywhere in the
platform is declared, every declared action is written somewhere, and audit_record refuses an
undeclared action, another entity type or data missing a declared key."""

from __future__ import annotations

import ast

import pytest

from erasure_platform.core.audit_actions import CONTRACT, AuditAction
from erasure_platform.core.models import AuditEvent
from erasure_platform.core.services.audit import audit_record, audit_record_many
from tests.platform.conftest import REPO_ROOT

PLATFORM = REPO_ROOT / "platform" / "erasure_platform"
WRITER = PLATFORM / "core" / "services" / "audit.py"  # builds events from its arguments: not a call site


def written_actions(root=PLATFORM) -> tuple[dict[str, list[str]], list[str]]:
    """(action -> places it is written, places whose action is not a literal nor an AuditAction member)."""
    written: dict[str, list[str]] = {}
    unreadable: list[str] = []
    for path in sorted(root.rglob("*.py")):
        if path == WRITER:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            value = None
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", "")) == "audit_record"
            ):
                value = next((k.value for k in node.keywords if k.arg == "action"), None)
            elif isinstance(node, ast.Dict):
                keys = [k.value if isinstance(k, ast.Constant) else None for k in node.keys]
                if "action" in keys and "entity_type" in keys:
                    value = node.values[keys.index("action")]
            elif isinstance(node, ast.Attribute) and getattr(node.value, "id", "") == "AuditAction":
                written.setdefault(AuditAction[node.attr].value, []).append(f"{path.name}:{node.lineno}")
                continue
            if value is None:
                continue
            place = f"{path.relative_to(root)}:{node.lineno}"
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                written.setdefault(value.value, []).append(place)
            elif not (isinstance(value, ast.Attribute) and getattr(value.value, "id", "") == "AuditAction"):
                # A computed action must come from a table of AuditAction members (jobs.FINISHED_ACTIONS).
                if not (isinstance(value, ast.Subscript) and getattr(value.value, "id", "") == "FINISHED_ACTIONS"):
                    unreadable.append(f"{place}: {ast.unparse(value)}")
    return written, unreadable


def test_every_action_written_is_declared_and_every_declared_one_is_written():
    written, unreadable = written_actions()
    assert not unreadable, f"actions that are neither a literal nor an AuditAction member: {unreadable}"
    undeclared = {action: places for action, places in written.items() if action not in set(AuditAction)}
    assert not undeclared, f"declare these in core/audit_actions.py: {undeclared}"
    unused = sorted(set(AuditAction) - set(written))
    assert not unused, f"declared but never written (remove or write them): {unused}"
    assert set(CONTRACT) == set(AuditAction), "every action has its contract"


def test_the_scan_would_catch_an_undeclared_action(tmp_path, monkeypatch):
    """The scan reads call sites, not a list: a new literal in a module is found."""
    module = PLATFORM / "core" / "zz_probe_audit_action.py"
    module.write_text(
        'audit_record(actor="x", action="request.teleported", entity_type="erasure_request", entity_id=1)\n'
    )
    try:
        written, _ = written_actions()
    finally:
        module.unlink()
    assert "request.teleported" in written and "request.teleported" not in set(AuditAction)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"action": "request.teleported", "entity_type": "erasure_request", "data": {}}, "not declared"),
        (
            {"action": "request.granted", "entity_type": "dataset", "data": {"reason": "x", "due_on": "d"}},
            "not a dataset",
        ),
        (
            {"action": "request.granted", "entity_type": "erasure_request", "data": {"reason": "x"}},
            "lacks \\['due_on'\\]",
        ),
    ],
)
def test_audit_record_refuses_what_the_vocabulary_does_not_allow(event, message):
    with pytest.raises(ValueError, match=message):
        audit_record(actor="system", entity_id="r1", **event)
    with pytest.raises(ValueError, match=message):
        audit_record_many([{"actor": "system", "entity_id": "r1", **event}])
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_a_member_is_stored_as_its_plain_value():
    event = audit_record(
        actor="system", action=AuditAction.SYSTEM_PONG, entity_type="outbox_event", entity_id="e1", data={"ping": 1}
    )
    assert AuditEvent.objects.get(pk=event.pk).action == "system.pong" and type(event.action) is str
