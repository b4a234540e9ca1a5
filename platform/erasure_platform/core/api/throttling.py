"""Per-client-address limits for the anonymous owner endpoints, shared by API and portal.

Counts live in the Django cache (Redis or the database: shared by every web process), keyed on
core.client_address. Rates come from settings; None switches a limit off."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from erasure_platform.core.client_address import client_address


class SettingRateThrottle(SimpleRateThrottle):
    setting = ""

    def get_rate(self):
        return getattr(settings, self.setting)

    def get_ident(self, request):
        return client_address(request)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        return super().allow_request(request, view)


class IntakeThrottle(SettingRateThrottle):
    """Filing requests (API and portal form)."""

    scope = "erasure_intake"
    setting = "ERASURE_INTAKE_THROTTLE_RATE"


class VerifyThrottle(SettingRateThrottle):
    """Checking codes and certificates, asking for new codes (API and portal forms)."""

    scope = "erasure_verify"
    setting = "ERASURE_VERIFY_THROTTLE_RATE"


def throttle_wait(request, throttle_class: type[SettingRateThrottle]) -> float | None:
    """For views outside DRF (the portal's forms): None when allowed, else seconds to wait."""
    throttle = throttle_class()
    if throttle.allow_request(request, None):
        return None
    return throttle.wait() or 1.0
