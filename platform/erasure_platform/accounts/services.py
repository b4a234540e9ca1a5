from __future__ import annotations

from django.contrib.auth.models import Group, User
from django.db import transaction

from erasure_platform.accounts.roles import Role
from erasure_platform.core.errors import ApplicationError
from erasure_platform.core.services.audit import audit_record


def roles_ensure() -> None:
    for role in Role:
        Group.objects.get_or_create(name=role.value)


def user_create(*, username: str, password: str, roles: list[Role], email: str = "", actor: str = "system") -> User:
    if User.objects.filter(username=username).exists():
        raise ApplicationError(f"user {username!r} already exists", code="user_exists", status=409)
    with transaction.atomic():
        roles_ensure()
        user = User.objects.create_user(username=username, password=password, email=email)
        user.groups.set(Group.objects.filter(name__in=[Role(role).value for role in roles]))
        audit_record(actor=actor, action="user.created", entity_type="user", entity_id=user.pk, data={"username": username, "roles": sorted(r.value for r in roles)})
    return user
