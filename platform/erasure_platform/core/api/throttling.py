"""Per-client-address limits for the anonymous owner endpoints, shared by API and portal.

A sliding window over two fixed ones (the current minute, say, and the one before, weighted by how
much of it still lies inside the last minute), counted with atomic counters shared by every web
process (core.rate_counters: Redis, or the database), keyed on core.client_address: concurrent
requests from one address in several processes never get past the limit, as they did when the
history was read and written back. A refused request does not count. Rates come from settings;
None switches a limit off."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from erasure_platform.core.client_address import client_address
from erasure_platform.core.rate_counters import counter_add, counter_get


class SettingRateThrottle(SimpleRateThrottle):
    setting = ""
    cache_format = "throttle:%(scope)s:%(ident)s"

    def get_rate(self):
        return getattr(settings, self.setting)

    def get_ident(self, request):
        return client_address(request)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        prefix = self.get_cache_key(request, view)
        now = self.timer()
        window, elapsed = divmod(now, self.duration)
        current = f"{prefix}:{int(window)}"
        ttl = 2 * self.duration + 1  # the next window still weighs this one
        count = counter_add(current, 1, ttl_seconds=ttl)
        earlier = counter_get(f"{prefix}:{int(window) - 1}")
        if earlier * (1 - elapsed / self.duration) + count <= self.num_requests:
            return True
        counter_add(current, -1, ttl_seconds=ttl)  # refused: it does not use up the limit
        self.retry_after = self.duration - elapsed
        return False

    def wait(self):
        return max(getattr(self, "retry_after", self.duration), 1.0)


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
