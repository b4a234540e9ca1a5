"""Staff users and their roles in the Django admin: roles are the groups named after `Role`;
every change of roles made here is written to the audit trail like one made by command."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User

from erasure_platform.accounts.roles import Role
from erasure_platform.accounts.services import user_roles_changed


def _role_names(user: User) -> list[str]:
    return sorted(user.groups.filter(name__in=[role.value for role in Role]).values_list("name", flat=True))


class AuditedUserAdmin(UserAdmin):
    def save_related(self, request, form, formsets, change):
        before = _role_names(form.instance) if change else []
        super().save_related(request, form, formsets, change)
        after = _role_names(form.instance)
        if before != after:
            user_roles_changed(user=form.instance, before=before, after=after, actor=f"user:{request.user.username}")


admin.site.unregister(User)
admin.site.register(User, AuditedUserAdmin)
