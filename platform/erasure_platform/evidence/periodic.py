"""Registered with the dispatcher by the app config."""

from erasure_platform.core.periodic import periodic
from erasure_platform.evidence.services.anchors import audit_anchor_write

periodic("evidence.anchor_audit_chain", interval_setting="AUDIT_ANCHOR_INTERVAL_SECONDS")(audit_anchor_write)
