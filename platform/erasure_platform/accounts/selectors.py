from __future__ import annotations

from erasure_platform.accounts.roles import Role


def user_roles(user) -> set[Role]:
    if not getattr(user, "is_authenticated", False):
        return set()
    names = set(user.groups.values_list("name", flat=True))
    return {role for role in Role if role.value in names}


def user_has_role(user, role: Role) -> bool:
    return role in user_roles(user)
