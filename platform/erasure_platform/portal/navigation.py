"""The portal's navigation: one list, filtered by what the signed-in person may do."""

from __future__ import annotations

from django.urls import reverse

from erasure_platform.accounts.roles import Role
from erasure_platform.accounts.selectors import user_roles

# (label, url name, roles that see it; None = everyone)
NAV_ITEMS = [
    ("Erase my data", "subject_requests:new", None),
    ("Request queue", "subject_requests:queue", {Role.OFFICER, Role.AUDITOR}),
    ("Deadlines dashboard", "subject_requests:dashboard", {Role.OFFICER, Role.AUDITOR}),
    ("Models", "registry:models", {Role.ML_ENGINEER, Role.RELEASE_APPROVER, Role.AUDITOR}),
    ("Lineage", "registry:lineage", {Role.ML_ENGINEER, Role.OFFICER, Role.AUDITOR}),
    ("Reports", "evidence:reports", {Role.OFFICER, Role.AUDITOR}),
    ("Audit trail", "evidence:audit-trail", {Role.OFFICER, Role.AUDITOR}),
    ("Check a certificate", "evidence:certificate-check", None),
]


def navigation(request) -> dict:
    roles = user_roles(getattr(request, "user", None))
    items = [
        {"label": label, "url": reverse(name)}
        for label, name, allowed in NAV_ITEMS
        if allowed is None or roles & allowed
    ]
    return {"nav_items": items}
