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
        audit_record(
            actor=actor,
            action="user.created",
            entity_type="user",
            entity_id=user.pk,
            data={"username": username, "roles": sorted(r.value for r in roles)},
        )
    return user


def user_roles_set(*, user: User, roles: list[Role], actor: str) -> User:
    """Give `user` exactly these roles (other groups are kept); audited."""
    with transaction.atomic():
        roles_ensure()
        before = sorted(group.name for group in user.groups.filter(name__in=[r.value for r in Role]))
        wanted = sorted({Role(role).value for role in roles})
        user.groups.remove(*Group.objects.filter(name__in=set(before) - set(wanted)))
        user.groups.add(*Group.objects.filter(name__in=wanted))
        if before != wanted:
            user_roles_changed(user=user, before=before, after=wanted, actor=actor)
    return user


def user_roles_changed(*, user: User, before: list[str], after: list[str], actor: str) -> None:
    """Record a change of roles made elsewhere (e.g. in the Django admin) in the audit trail."""
    audit_record(
        actor=actor,
        action="user.roles_changed",
        entity_type="user",
        entity_id=user.pk,
        data={"username": user.username, "before": before, "after": after},
    )
