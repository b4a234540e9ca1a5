"""Filling the lineage index for a new dataset version: PostgreSQL COPY (what registration uses)
against the batched INSERTs it replaced, on the same rows, each in a transaction rolled back.

    bench/with_services python3 bench/index_write_bench.py --records 1000000
"""

from __future__ import annotations

import argparse
import hashlib
import time

import django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    django.setup()
    # Models import only once Django is set up: this script configures Django itself.
    from django.core.management import call_command
    from django.db import transaction

    from erasure_platform.registry.models import Dataset, DatasetVersion, SubjectRecord
    from erasure_platform.registry.services.datasets import INDEX_BATCH, _copy_rows

    call_command("migrate", verbosity=0)
    dataset = Dataset.objects.create(name=f"bench-{int(time.time())}", created_by="bench")
    version = DatasetVersion.objects.create(
        dataset=dataset, version_id="v0001", manifest_sha256="0" * 64, object_url="bench://", created_by="bench"
    )
    entries = [
        {
            "record_id": f"T-{i}",
            "subject_key": hashlib.sha256(f"s{i // 10}".encode()).hexdigest(),
            "content_hash": hashlib.sha256(f"c{i}".encode()).hexdigest(),
            "shard": i % 8,
            "slice": i % 4,
        }
        for i in range(args.records)
    ]

    def inserts() -> None:
        rows = []
        for entry in entries:
            rows.append(SubjectRecord(dataset_id=dataset.pk, valid_from=version, **entry))
            if len(rows) >= INDEX_BATCH:
                SubjectRecord.objects.bulk_create(rows)
                rows = []
        SubjectRecord.objects.bulk_create(rows)

    timings: dict[str, list[float]] = {"batched INSERT (bulk_create)": [], "COPY": []}
    for _ in range(args.repeats):
        for name, write in (("batched INSERT (bulk_create)", inserts), ("COPY", lambda: _copy_rows(version, entries))):
            try:
                with transaction.atomic():
                    started = time.perf_counter()
                    write()
                    timings[name].append(time.perf_counter() - started)
                    assert SubjectRecord.objects.filter(valid_from=version).count() == args.records
                    raise RuntimeError("roll back")
            except RuntimeError:
                pass
    print(f"{args.records:,} index rows, best of {args.repeats}")
    for name, values in timings.items():
        best = min(values)
        print(f"  {name:<30} {best:7.2f} s  {args.records / best:>10,.0f} rows/s")
    ratio = min(timings["batched INSERT (bulk_create)"]) / min(timings["COPY"])
    print(f"  COPY is {ratio:.1f}x faster")


if __name__ == "__main__":
    main()
