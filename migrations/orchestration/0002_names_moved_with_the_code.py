"""Job kinds, outbox topics and consumer receipts renamed when orchestration left the registry.

Jobs still waiting or running, events not yet delivered, and receipts of delivered events keep
working under their new names (a retried job finds its handler; a redelivered event finds its
receipt and is not consumed twice)."""

from django.db import migrations

JOB_KINDS = {
    "registry.erase_datasets": "orchestration.erase_datasets",
    "registry.unlearn": "orchestration.unlearn",
    "registry.verify": "orchestration.verify",
}
TOPICS = {
    "registry.batch_due": "orchestration.batch_due",
    "registry.plan_completed": "orchestration.plan_completed",
}
CONSUMERS = {
    "registry.plan_erasure": "orchestration.plan_erasure",
    "registry.close_due_batch": "orchestration.close_due_batch",
    "registry.destroy_forget_set": "orchestration.destroy_forget_set",
}


def rename(apps, mapping_by_field):
    for model_name, field, mapping in mapping_by_field:
        model = apps.get_model("core", model_name)
        for old, new in mapping.items():
            model.objects.filter(**{field: old}).update(**{field: new})


def forwards(apps, schema_editor):
    rename(
        apps, [("Job", "kind", JOB_KINDS), ("OutboxEvent", "topic", TOPICS), ("ProcessedEvent", "consumer", CONSUMERS)]
    )


def backwards(apps, schema_editor):
    rename(
        apps,
        [
            ("Job", "kind", {new: old for old, new in JOB_KINDS.items()}),
            ("OutboxEvent", "topic", {new: old for old, new in TOPICS.items()}),
            ("ProcessedEvent", "consumer", {new: old for old, new in CONSUMERS.items()}),
        ],
    )


class Migration(migrations.Migration):
    dependencies = [
        ("orchestration", "0001_initial"),
        ("core", "0003_transparency_log"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
