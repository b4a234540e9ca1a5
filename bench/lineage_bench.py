"""Lineage index at scale: lookups and erasure registration on PostgreSQL.

Builds a dataset of --records records (--records-per-subject each) with --versions versions, where
every version after the first erased --subjects-per-erasure subjects, directly in SQL
(generate_series; indexes built after the load). Then measures, with the platform's own code:

- registering one more erasure of --subjects-per-erasure subjects: the new version's row and its
  index update (registry.services.datasets.index_version_rows: it closes the erased records'
  intervals; the records that stay are not written), in one transaction;
- lineage lookups (registry.selectors.lineage_for_subject: the subject's rows, the versions they
  cover, the model versions trained on those) for random subjects, erased or not: p50/p99.

    bench/with_services python3 bench/lineage_bench.py --records 10000000 --versions 100
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import time

import django


def subject_key(subject: int) -> str:
    return hashlib.sha256(f"s{subject}".encode()).hexdigest()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--records-per-subject", type=int, default=10)
    parser.add_argument("--versions", type=int, default=100)
    parser.add_argument("--subjects-per-erasure", type=int, default=100)
    parser.add_argument("--lookups", type=int, default=1000)
    parser.add_argument("--erasures", type=int, default=5, help="measured erasure registrations")
    parser.add_argument("--profile", action="store_true", help="print where lookup time goes (cProfile)")
    parser.add_argument(
        "--passes",
        type=int,
        default=1,
        help="look the same subjects up this many times: the first pass reads index pages from disk"
        " (cold), later ones from memory, as a busy service would",
    )
    args = parser.parse_args()

    django.setup()
    # Models import only once Django is set up: this script configures Django itself.
    from django.core.management import call_command
    from django.db import connection, transaction

    from erasure_platform.registry.lineage import rows_by_version
    from erasure_platform.registry.models import Dataset, DatasetVersion, SubjectRecord
    from erasure_platform.registry.selectors import lineage_for_subject, subject_index_rows
    from erasure_platform.registry.services.datasets import index_version_rows

    call_command("migrate", verbosity=0)
    per = args.records_per_subject
    subjects = args.records // per
    erased_per_version = args.subjects_per_erasure * per
    assert subjects > args.subjects_per_erasure * (args.versions + args.erasures), "too few subjects for the history"

    started = time.perf_counter()
    dataset = Dataset.objects.create(name=f"bench-{int(time.time())}", created_by="bench")
    versions, parent = [], None
    for number in range(1, args.versions + 1):
        parent = DatasetVersion.objects.create(
            dataset=dataset,
            version_id=f"v{number:04d}",
            manifest_sha256="0" * 64,
            object_url="bench://",
            parent=parent,
            record_count=subjects * per - (number - 1) * erased_per_version,
            created_by="bench",
        )
        versions.append(parent)
    table = SubjectRecord._meta.db_table
    with connection.cursor() as cursor:
        # Bulk load without the indexes, then build them as the migrations define them (as any
        # bulk load of this size would).
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s",
            [table, "%(subject_key)%"],
        )
        lookup_indexes = cursor.fetchall()
        cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT registry_record_interval_once")
        for name, _ in lookup_indexes:
            cursor.execute(f"DROP INDEX {name}")
        cursor.execute(
            f"INSERT INTO {table} (subject_key, dataset_id, record_id, content_hash, shard, slice, valid_from_id)"
            " SELECT encode(sha256(convert_to('s' || (g / %s), 'UTF8')), 'hex'), %s, 'r' || g,"
            " md5(g::text) || md5((g + 1)::text), g %% 8, g %% 4, %s FROM generate_series(0, %s) AS g",
            [per, dataset.pk, versions[0].pk, subjects * per - 1],
        )
        loaded = time.perf_counter()
        for _, definition in lookup_indexes:
            cursor.execute(definition)
        cursor.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT registry_record_interval_once"
            " UNIQUE (dataset_id, record_id, valid_from_id)"
        )
        # History: version n erased subjects [(n-2)*k, (n-1)*k).
        for number, version in enumerate(versions[1:], start=2):
            first = (number - 2) * args.subjects_per_erasure
            cursor.execute(
                f"UPDATE {table} SET valid_until_id = %s, erased_in_id = %s WHERE dataset_id = %s AND valid_until_id IS NULL"
                " AND record_id = ANY(%s)",
                [
                    version.pk,
                    version.pk,
                    dataset.pk,
                    [f"r{g}" for g in range(first * per, (first + args.subjects_per_erasure) * per)],
                ],
            )
        # What autovacuum does after a load this size: statistics, and the visibility map an
        # index-only scan needs.
        cursor.execute(f"VACUUM (ANALYZE) {table}")
        cursor.execute(f"SELECT count(*), pg_size_pretty(pg_total_relation_size('{table}')) FROM {table}")
        rows, size = cursor.fetchone()
    fixture_seconds = time.perf_counter() - started
    print(
        f"fixture: {rows:,} index rows ({size}), {args.versions} versions, {subjects:,} subjects; "
        f"load {loaded - started:.0f} s, total {fixture_seconds:.0f} s"
    )

    # Erasure registrations: a new version + index update, one transaction each.
    erasure_seconds, written = [], []
    first_free = (args.versions - 1) * args.subjects_per_erasure
    for attempt in range(args.erasures):
        first = first_free + attempt * args.subjects_per_erasure
        removed = [{"record_id": f"r{g}"} for g in range(first * per, (first + args.subjects_per_erasure) * per)]
        t0 = time.perf_counter()
        with transaction.atomic():
            new = DatasetVersion.objects.create(
                dataset=dataset,
                version_id=f"v{args.versions + attempt + 1:04d}",
                manifest_sha256="0" * 64,
                object_url="bench://",
                parent=parent,
                record_count=parent.record_count - len(removed),
                created_by="bench",
            )
            change = index_version_rows(
                new,
                parent,
                {"record_count": new.record_count, "records": []},
                {"request_ids": ["bench"], "removed": removed},
            )
        erasure_seconds.append(time.perf_counter() - t0)
        written.append(change["opened"] + change["closed"])
        parent = new
    print(
        f"erasure of {args.subjects_per_erasure} subjects ({erased_per_version} records): "
        f"index rows written {written[0]:,} (a per-version index would write {parent.record_count:,}); "
        f"median {statistics.median(erasure_seconds) * 1000:.0f} ms, max {max(erasure_seconds) * 1000:.0f} ms"
    )

    with connection.cursor() as cursor:
        sql, params = subject_index_rows([subject_key(first_free - 1)]).query.sql_with_params()
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        print("plan of a subject's rows:\n  " + "\n  ".join(line for (line,) in cursor.fetchall()))

    # Lookups: random subjects across the whole key space (about 1 in 10 erased at some version).
    rng = random.Random(20261201)
    erased_range = args.subjects_per_erasure * (args.versions - 1 + args.erasures)
    picks = [rng.randrange(subjects) if i % 10 else rng.randrange(erased_range) for i in range(args.lookups)]
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    for number in range(1, args.passes + 1):
        index_timings, timings, found_versions = [], [], 0
        for subject in picks:
            key = subject_key(subject)
            t0 = time.perf_counter()
            _, grouped = rows_by_version(subject_index_rows([key]))
            t1 = time.perf_counter()
            lineage = lineage_for_subject(subject_key=key)
            timings.append(time.perf_counter() - t1)
            index_timings.append(t1 - t0)
            found_versions += len(lineage.dataset_versions)
            assert len(grouped) == len(lineage.dataset_versions)
        assert found_versions > 0
        label = f" (pass {number} of {args.passes})" if args.passes > 1 else ""
        for name, values in (
            ("index lookup (versions holding a subject)", index_timings),
            ("lineage_for_subject (with model versions)", timings),
        ):
            print(
                f"{name}{label}: {len(values)} lookups, p50 {percentile(values, 0.5) * 1000:.1f} ms, "
                f"p99 {percentile(values, 0.99) * 1000:.1f} ms, max {max(values) * 1000:.1f} ms"
            )
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
    print(f"mean dataset versions per answer {found_versions / len(timings):.1f}")


if __name__ == "__main__":
    main()
