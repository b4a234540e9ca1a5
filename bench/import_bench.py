"""Bring your own data at scale: importing a folder of Parquet files against pyarrow merely reading them.

Writes --records support-ticket rows (an e-mail, a ticket id, a subject line, a body, a date) as
--files Parquet files, then in fresh processes, one after the other:

- the floor: pyarrow reading every file's named columns, batch by batch, as the import does;
- the import: `erasure_engine.imports.import_dataset` of the same folder into a local store (spec
  over the same columns; identifiers hashed; a version written with --shards x --slices).

Each prints wall seconds, records/s and peak RSS (ru_maxrss); the ratio import/floor is the figure
to read (this machine's speed varies). Target (DESIGN §6): 10,000,000 records, peak RSS <= 1.5 GiB,
>= 50,000 records/s.

    python bench/import_bench.py --records 1000000 --files 8
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPEC = {
    "subject": {"column": "email", "kind": "email"},
    "record_id": {"column": "ticket_id"},
    "text": "{subject_line}\n\n{body}",
    "metadata": ["created_at"],
}
COLUMNS = ["ticket_id", "email", "subject_line", "body", "created_at"]


def write_source(folder: Path, records: int, files: int, people: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    per_file = -(-records // files)
    for part in range(files):
        start, stop = part * per_file, min(records, (part + 1) * per_file)
        ids = range(start, stop)
        table = pa.table(
            {
                "ticket_id": [f"T-{i}" for i in ids],
                "email": [f"person{i % people}@example.org" for i in ids],
                "subject_line": [f"Question {i % 97}" for i in ids],
                "body": [f"Ticket {i}: the customer asks about order {i * 7 % 100003} and its delivery." for i in ids],
                "created_at": [f"2026-09-{1 + i % 28:02d}" for i in ids],
            }
        )
        pq.write_table(table, folder / f"part-{part:04d}.parquet")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_floor(folder: Path) -> dict:
    from erasure_engine.imports import open_source

    started = time.perf_counter()
    rows = 0
    for batch in open_source(str(folder)).batches(COLUMNS):
        rows += len(batch.rows)
    return {"rows": rows, "seconds": time.perf_counter() - started, "peak_rss_mib": peak_rss_mib()}


def run_floor_arrow_only(folder: Path) -> dict:
    """pyarrow alone: batches read, never turned into Python rows."""
    import pyarrow.parquet as pq

    started = time.perf_counter()
    rows = 0
    for path in sorted(folder.glob("*.parquet")):
        for batch in pq.ParquetFile(path).iter_batches(batch_size=50_000, columns=COLUMNS):
            rows += batch.num_rows
    return {"rows": rows, "seconds": time.perf_counter() - started, "peak_rss_mib": peak_rss_mib()}


def run_import(folder: Path, store: Path, shards: int, slices: int) -> dict:
    from erasure_engine.imports import DatasetSpec, import_dataset, open_source
    from erasure_engine.storage import LocalObjectStore

    started = time.perf_counter()
    report = import_dataset(
        open_source(str(folder)),
        DatasetSpec.from_dict(SPEC),
        store=LocalObjectStore(store),
        dataset="tickets",
        secret="bench-secret",
        shards=shards,
        slices=slices,
    )
    return {
        "rows": report.records,
        "seconds": time.perf_counter() - started,
        "peak_rss_mib": peak_rss_mib(),
        "refused": report.refused_count,
    }


def in_fresh_process(mode: str, args, folder: Path, store: Path) -> dict:
    command = [sys.executable, __file__, "--child", mode, "--folder", str(folder), "--store", str(store)]
    command += ["--shards", str(args.shards), "--slices", str(args.slices)]
    output = subprocess.run(command, capture_output=True, text=True, check=True, env=os.environ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--people", type=int, default=100_000, help="distinct e-mails among the rows")
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--slices", type=int, default=4)
    parser.add_argument("--child", choices=["floor", "arrow", "import"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run = {
            "floor": lambda: run_floor(Path(args.folder)),
            "arrow": lambda: run_floor_arrow_only(Path(args.folder)),
            "import": lambda: run_import(Path(args.folder), Path(args.store), args.shards, args.slices),
        }[args.child]
        print(json.dumps(run()))
        return
    with tempfile.TemporaryDirectory(prefix="import-bench-") as work:
        folder, store = Path(work) / "source", Path(work) / "store"
        folder.mkdir()
        started = time.perf_counter()
        write_source(folder, args.records, args.files, args.people)
        size = sum(path.stat().st_size for path in folder.iterdir())
        print(
            f"source: {args.records:,} rows in {args.files} Parquet files, {size / 2**20:.1f} MiB, written in {time.perf_counter() - started:.1f} s"
        )
        results = {mode: in_fresh_process(mode, args, folder, store) for mode in ("arrow", "floor", "import")}
    names = {
        "arrow": "pyarrow batches only",
        "floor": "pyarrow -> Python rows (the import's reader)",
        "import": f"import (S={args.shards}, R={args.slices})",
    }
    print(f"{'run':<48} {'records':>11} {'seconds':>8} {'records/s':>11} {'peak RSS MiB':>13}")
    for mode, result in results.items():
        rate = result["rows"] / result["seconds"]
        print(
            f"{names[mode]:<48} {result['rows']:>11,} {result['seconds']:>8.2f} {rate:>11,.0f} {result['peak_rss_mib']:>13.0f}"
        )
    floor = results["floor"]["seconds"]
    print(
        f"import / reader floor: {results['import']['seconds'] / floor:.1f}x the time; "
        f"import / pyarrow alone: {results['import']['seconds'] / results['arrow']['seconds']:.1f}x"
    )


if __name__ == "__main__":
    main()
