"""Role checks for portal views: anonymous → sign-in page; signed in without the role → 403."""

from __future__ import annotations

import functools

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from erasure_platform.accounts.roles import Role
from erasure_platform.accounts.selectors import user_roles


def role_required(*roles: Role):
    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user_roles(request.user) & set(roles):
                raise PermissionDenied("your account does not have a role that may see this page")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
