"""Lineage index, step 3 of 3: drop the per-version column, index and constrain the intervals."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("registry", "0003_lineage_intervals_data")]

    operations = [
        migrations.RemoveConstraint("subjectrecord", "registry_subject_record_once"),
        migrations.RemoveIndex("subjectrecord", "registry_subject_lookup"),
        migrations.RemoveField("subjectrecord", "dataset_version"),
        migrations.AlterField(
            "subjectrecord",
            "dataset",
            models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="subject_records", to="registry.dataset"
            ),
        ),
        migrations.AlterField(
            "subjectrecord",
            "valid_from",
            models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="registry.datasetversion"
            ),
        ),
        migrations.AddIndex("subjectrecord", models.Index(fields=["subject_key"], name="registry_subject_key_lookup")),
        migrations.AddConstraint(
            "subjectrecord",
            models.UniqueConstraint(
                fields=["dataset", "record_id", "valid_from"], name="registry_record_interval_once"
            ),
        ),
    ]
