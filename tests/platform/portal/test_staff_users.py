"""Staff users and roles: the command and the Django admin both record role changes in the audit trail."""

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.test import Client

from erasure_platform.accounts.roles import Role
from erasure_platform.accounts.selectors import user_roles
from erasure_platform.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_command_creates_a_user_then_sets_exactly_the_given_roles(monkeypatch):
    monkeypatch.setenv("ERASURE_NEW_USER_PASSWORD", "a-long-enough-password")
    call_command("staff_user", "dana", "--role", "compliance_officer", "--role", "auditor")
    dana = User.objects.get(username="dana")
    assert user_roles(dana) == {Role.OFFICER, Role.AUDITOR}
    assert dana.check_password("a-long-enough-password")
    call_command("staff_user", "dana", "--role", "ml_engineer")
    assert user_roles(dana) == {Role.ML_ENGINEER}
    change = AuditEvent.objects.filter(action="user.roles_changed", entity_id=str(dana.pk)).get()
    assert change.data["before"] == ["auditor", "compliance_officer"] and change.data["after"] == ["ml_engineer"]


def test_command_refuses_a_short_password_and_an_unknown_role(monkeypatch):
    monkeypatch.setenv("ERASURE_NEW_USER_PASSWORD", "short")
    with pytest.raises(CommandError, match="at least 12"):
        call_command("staff_user", "eve", "--role", "auditor")
    assert not User.objects.filter(username="eve").exists()
    with pytest.raises(CommandError):
        call_command("staff_user", "eve", "--role", "superhero")


def test_role_change_in_the_django_admin_is_audited():
    admin = User.objects.create_superuser("root", "root@example.org", "a-long-admin-password")
    call_command("seed_demo")  # groups and an officer to edit
    officer = User.objects.get(username="officer")
    client = Client()
    client.force_login(admin)
    page = client.get(f"/admin/auth/user/{officer.pk}/change/")
    assert page.status_code == 200 and "compliance_officer" in page.content.decode()
    auditor_group = Group.objects.get(name=Role.AUDITOR.value)
    response = client.post(
        f"/admin/auth/user/{officer.pk}/change/",
        {
            "username": "officer",
            "first_name": "",
            "last_name": "",
            "email": "",
            "is_active": "on",
            "groups": [auditor_group.pk],
            "user_permissions": [],
            "last_login_0": "",
            "last_login_1": "",
            "date_joined_0": "2026-12-01",
            "date_joined_1": "10:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert user_roles(officer) == {Role.AUDITOR}
    change = AuditEvent.objects.filter(action="user.roles_changed", entity_id=str(officer.pk)).get()
    assert change.actor == "user:root"
    assert change.data == {"username": "officer", "before": ["compliance_officer"], "after": ["auditor"]}
