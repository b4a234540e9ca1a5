"""The portal's navigation: one list, filtered by what the signed-in person may do."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from erasure_platform.accounts.roles import Role
from erasure_platform.accounts.selectors import user_roles
from erasure_platform.registry.services.demo import demo_identifiers

# (label, url name, roles that see it; None = everyone)
NAV_ITEMS = [
    ("Erase my data", "subject_requests:new", None),
    ("Request queue", "subject_requests:queue", {Role.OFFICER, Role.AUDITOR}),
    ("Deadlines dashboard", "subject_requests:dashboard", {Role.OFFICER, Role.AUDITOR}),
    ("Request records", "subject_requests:records", {Role.OFFICER, Role.AUDITOR}),
    ("Models", "registry:models", {Role.ML_ENGINEER, Role.RELEASE_APPROVER, Role.AUDITOR}),
    ("Datasets", "registry:datasets", {Role.ML_ENGINEER, Role.AUDITOR}),
    ("Lineage", "registry:lineage", {Role.ML_ENGINEER, Role.OFFICER, Role.AUDITOR}),
    ("Reports", "evidence:reports", {Role.OFFICER, Role.AUDITOR}),
    ("Audit trail", "evidence:audit-trail", {Role.OFFICER, Role.AUDITOR}),
    ("Check a certificate", "evidence:certificate-check", None),
]


# Where each role starts its day, most specific duty first: a person with several roles lands
# on the first that applies. Data owners and staff without a role land on the public home page.
ROLE_LANDING = [
    (Role.OFFICER, "subject_requests:queue"),
    (Role.RELEASE_APPROVER, "registry:models"),
    (Role.ML_ENGINEER, "registry:models"),
    (Role.AUDITOR, "evidence:reports"),
]


def landing_url(user) -> str:
    roles = user_roles(user)
    for role, name in ROLE_LANDING:
        if role in roles:
            return reverse(name)
    return reverse("portal:home")


def navigation(request) -> dict:
    roles = user_roles(getattr(request, "user", None))
    items = [
        {"label": label, "url": reverse(name)}
        for label, name, allowed in NAV_ITEMS
        if allowed is None or roles & allowed
    ]
    return {"nav_items": items}


def embedded_demo(request) -> dict:
    """In the embedded demo only: fictitious identifiers a newcomer can file a request with."""
    if settings.PRODUCTION:
        return {}
    return {"demo_identifiers": demo_identifiers()}
