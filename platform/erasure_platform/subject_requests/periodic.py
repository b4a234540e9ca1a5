"""Registered with the dispatcher by the app config."""

from erasure_platform.core.periodic import periodic
from erasure_platform.subject_requests.services.retention import requests_purge_expired_contacts

periodic("requests.purge_expired_contacts", interval_setting="ERASURE_RETENTION_INTERVAL_SECONDS")(
    requests_purge_expired_contacts
)
