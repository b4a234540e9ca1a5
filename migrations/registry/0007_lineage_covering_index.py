"""The lineage lookup reads a subject's rows from the index alone (INCLUDE: an index-only scan on
PostgreSQL; other databases build a plain index on subject_key)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("registry", "0006_plans_and_batches_moved_to_orchestration")]

    operations = [
        migrations.AddIndex(
            "subjectrecord",
            models.Index(
                fields=["subject_key"],
                include=["id", "dataset", "record_id", "valid_from", "valid_until", "erased_in"],
                name="registry_subject_rows_cover",
            ),
        ),
        migrations.RemoveIndex("subjectrecord", "registry_subject_key_lookup"),
    ]
