"""SISA shards as LiRA reference models: each shard's model trained only on the subjects placed in
its shard (its active slices), so it is OUT for every other subject (Carlini et al., 2022, offline).

The subjects come from the manifest of the dataset version the model version was trained on. An
erasure redacts that manifest (erased records leave `records`, their places stay in
`redacted_records` without a subject key), so the records about to be audited — the forget set —
are given too: each takes the place its record id was redacted from. A given record whose place is
unknown counts as trained on by every shard (it then has no OUT reference: never a wrong one)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from erasure_engine.errors import InvalidInput
from erasure_engine.records import Record
from erasure_engine.sisa.ensemble import load_shard_model
from erasure_engine.sisa.manifest import ModelVersion
from erasure_engine.sisa.trainer import load_assets
from erasure_engine.storage import ObjectStore
from erasure_engine.verification import ReferenceModel


def shard_subjects(version: ModelVersion, dataset, records: Iterable[Record] = ()) -> dict[int, frozenset[str]]:
    """Active shard -> the subject keys its active model trained on. `dataset` is the engine's
    DatasetVersion `version` was trained on (its manifest is enough: load it with verify=False
    when an erasure has purged it); `records` (e.g. the forget set) may have been erased since."""
    if dataset.version_id != version.dataset.get("version_id"):
        raise InvalidInput(
            f"{version.model_name}/{version.version_id} was trained on dataset version "
            f"{version.dataset.get('version_id')}, not {dataset.version_id}"
        )
    subjects: dict[int, set[str]] = {shard: set() for shard in version.active_shards}

    def add(shard: int, slice_: int, key: str) -> None:
        if key and shard in subjects and slice_ < version.active_slices(shard):
            subjects[shard].add(key)

    listed = set()
    for entry in dataset.manifest["records"]:
        listed.add(entry["record_id"])
        add(int(entry["shard"]), int(entry["slice"]), entry.get("subject_key", ""))
    redacted = {e["record_id"]: e for e in dataset.manifest.get("redacted_records", [])}
    for record in records:
        if not record.subject_key or record.record_id in listed:
            continue
        entry = redacted.get(record.record_id)
        if entry is not None:
            add(int(entry["shard"]), int(entry["slice"]), record.subject_key)
        else:
            for keys in subjects.values():
                keys.add(record.subject_key)
    return {shard: frozenset(keys) for shard, keys in subjects.items()}


def uncovered_records(subjects: Mapping[int, frozenset[str]], records: Iterable[Record]) -> list[str]:
    """Record ids with no shard OUT for their subject (LiRA cannot score them)."""
    return [r.record_id for r in records if all(r.subject_key in keys for keys in subjects.values())]


def load_shard_references(
    store: ObjectStore, version: ModelVersion, subjects: Mapping[int, frozenset[str]]
) -> list[ReferenceModel]:
    """One ReferenceModel per shard in `subjects` (from shard_subjects), each its own module (an
    lm-lora shard gets its own copy of the base): S more models in memory."""
    assets = load_assets(store, version.assets)
    return [
        ReferenceModel(
            load_shard_model(store, version, shard, assets=assets),
            subjects[shard],
            source=f"{version.model_name}/{version.version_id} shard {shard}",
        )
        for shard in sorted(subjects)
    ]
