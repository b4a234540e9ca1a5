"""Lineage index, step 1 of 3: the interval columns (nullable until the rows are folded).
Three migrations, three transactions: PostgreSQL refuses DDL (the FK indexes made here, the
constraints of step 3) on a table with pending FK checks from the row updates of step 2."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]

    operations = [
        migrations.AddField(
            "subjectrecord",
            "dataset",
            models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="subject_records",
                to="registry.dataset",
            ),
        ),
        migrations.AddField(
            "subjectrecord",
            "valid_from",
            models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="registry.datasetversion"
            ),
        ),
        migrations.AddField(
            "subjectrecord",
            "valid_until",
            models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="registry.datasetversion",
            ),
        ),
    ]
