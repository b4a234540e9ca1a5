"""Versioned datasets: JSONL slice objects in an ObjectStore, manifests, stable SISA
shard/slice placement, and erasure that deletes for good."""

from erasure_engine.datasets.erasure import ErasureReport, subject_key_digest
from erasure_engine.datasets.layout import check_dataset_name
from erasure_engine.datasets.placement import assign_places, placement
from erasure_engine.datasets.store import DatasetStore
from erasure_engine.datasets.version import DatasetVersion

__all__ = [
    "DatasetStore",
    "DatasetVersion",
    "ErasureReport",
    "assign_places",
    "placement",
    "subject_key_digest",
    "check_dataset_name",
]
