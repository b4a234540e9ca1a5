"""Lineage index, step 2 of 3: one row per record and dataset version -> one row per record
interval (valid_from .. valid_until): consecutive identical rows fold into the first."""

from django.db import migrations


def fold_rows_into_intervals(apps, schema_editor):
    DatasetVersion = apps.get_model("registry", "DatasetVersion")
    SubjectRecord = apps.get_model("registry", "SubjectRecord")
    # order_by(): the model's default ordering would make DISTINCT yield a dataset once per version.
    for dataset_id in DatasetVersion.objects.order_by().values_list("dataset_id", flat=True).distinct():
        open_rows: dict[str, object] = {}
        for version in DatasetVersion.objects.filter(dataset_id=dataset_id).order_by("id"):
            seen = set()
            for row in SubjectRecord.objects.filter(dataset_version=version).order_by("id"):
                seen.add(row.record_id)
                kept = open_rows.get(row.record_id)
                same = kept is not None and (kept.subject_key, kept.content_hash, kept.shard, kept.slice) == (
                    row.subject_key,
                    row.content_hash,
                    row.shard,
                    row.slice,
                )
                if same:
                    row.delete()
                    continue
                if kept is not None:
                    kept.valid_until_id = version.id
                    kept.save(update_fields=["valid_until"])
                row.dataset_id, row.valid_from_id = dataset_id, version.id
                row.save(update_fields=["dataset", "valid_from"])
                open_rows[row.record_id] = row
            for record_id in [record_id for record_id in open_rows if record_id not in seen]:
                gone = open_rows.pop(record_id)
                gone.valid_until_id = version.id
                gone.save(update_fields=["valid_until"])


class Migration(migrations.Migration):
    dependencies = [("registry", "0002_lineage_interval_columns")]

    operations = [migrations.RunPython(fold_rows_into_intervals, migrations.RunPython.noop)]
