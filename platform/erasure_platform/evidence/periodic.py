"""Registered with the dispatcher by the app config."""

from erasure_platform.core.periodic import periodic
from erasure_platform.evidence.services.anchors import audit_anchor_write
from erasure_platform.evidence.services.transparency_log import audit_log_fold

periodic("evidence.fold_audit_log", interval_setting="AUDIT_STH_INTERVAL_SECONDS")(audit_log_fold)
periodic("evidence.anchor_audit_log", interval_setting="AUDIT_ANCHOR_INTERVAL_SECONDS")(audit_anchor_write)
