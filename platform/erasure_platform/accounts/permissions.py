"""DRF permissions per staff role: least privilege, one role check in one place."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from erasure_platform.accounts.roles import Role
from erasure_platform.accounts.selectors import user_roles


def has_any_role(*roles: Role) -> type[BasePermission]:
    """Permission class admitting authenticated users holding at least one of `roles`."""

    class HasAnyRole(BasePermission):
        message = "this operation needs one of the roles: " + ", ".join(role.value for role in roles)

        def has_permission(self, request, view) -> bool:
            return bool(user_roles(request.user) & set(roles))

    HasAnyRole.__name__ = "HasAnyRole_" + "_".join(role.name for role in roles)
    return HasAnyRole
