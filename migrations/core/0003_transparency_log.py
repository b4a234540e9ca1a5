"""The audit hash chain becomes a Merkle transparency log (docs/transparency-log.md).

Events are no longer chained under one locked head row: each carries a uid and an HMAC, and
the dispatcher folds them into AuditLogLeaf and signs SignedTreeHead rows. Existing events
keep their order (ids were assigned under the old head lock) and receive a uid and a MAC
computed with the configured key: run verify_audit_chain on the old release before migrating.
"""

import uuid

from django.conf import settings
from django.db import migrations, models

from erasure_platform.core.audit_privileges import LOG_TABLES, append_only_trigger_sql, audit_privileges_apply

OLD_TRIGGER = "core_auditevent_append_only"


def _postgres(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


def give_legacy_events_a_uid_and_mac(apps, schema_editor):
    from erasure_engine.evidence.log import event_mac
    from erasure_platform.core.services.audit import audit_event_content

    AuditEvent = apps.get_model("core", "AuditEvent")
    if not AuditEvent.objects.exists():
        return
    if _postgres(schema_editor):
        schema_editor.execute(f"ALTER TABLE core_auditevent DISABLE TRIGGER {OLD_TRIGGER}")
    key = settings.AUDIT_MAC_KEY.encode("utf-8")
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        event.uid = uuid.uuid4()
        event.mac = event_mac(
            key,
            audit_event_content(
                uid=event.uid,
                occurred_at=event.occurred_at,
                actor=event.actor,
                action=event.action,
                entity_type=event.entity_type,
                entity_id=event.entity_id,
                data=event.data,
            ),
        )
        AuditEvent.objects.filter(pk=event.pk).update(uid=event.uid, mac=event.mac)
    if _postgres(schema_editor):
        schema_editor.execute(f"ALTER TABLE core_auditevent ENABLE TRIGGER {OLD_TRIGGER}")


def protect(apps, schema_editor):
    if not _postgres(schema_editor):
        return
    for table in LOG_TABLES:
        schema_editor.execute(append_only_trigger_sql(table), params=None)
    schema_editor.execute("DROP FUNCTION IF EXISTS core_auditevent_refuse_change()")
    with schema_editor.connection.cursor() as cursor:
        audit_privileges_apply(
            cursor,
            app_role=settings.AUDIT_DB_APP_ROLE,
            log_role=settings.AUDIT_DB_LOG_ROLE,
            quote=schema_editor.connection.ops.quote_name,
        )


class Migration(migrations.Migration):
    dependencies = [("core", "0002_audit_append_only")]

    operations = [
        migrations.RemoveIndex(model_name="auditevent", name="core_audite_entity__83706f_idx"),
        migrations.AddField("auditevent", "uid", models.UUIDField(null=True, editable=False)),
        migrations.AddField("auditevent", "mac", models.CharField(max_length=64, default="")),
        migrations.RunPython(give_legacy_events_a_uid_and_mac, migrations.RunPython.noop),
        migrations.AlterField("auditevent", "uid", models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
        migrations.AlterField("auditevent", "mac", models.CharField(max_length=64)),
        migrations.RemoveField("auditevent", "sequence"),
        migrations.RemoveField("auditevent", "prev_hash"),
        migrations.RemoveField("auditevent", "hash"),
        migrations.RenameField("auditevent", "id", "sequence"),
        migrations.AlterField("auditevent", "sequence", models.BigAutoField(primary_key=True, serialize=False)),
        migrations.AddIndex(
            "auditevent", models.Index(fields=["entity_type", "entity_id"], name="core_audit_entity_idx")
        ),
        migrations.DeleteModel("AuditChainHead"),
        migrations.CreateModel(
            name="AuditLogLeaf",
            fields=[
                ("leaf_index", models.BigIntegerField(primary_key=True, serialize=False)),
                ("leaf_hash", models.CharField(max_length=64)),
                (
                    "event",
                    models.OneToOneField(on_delete=models.deletion.PROTECT, related_name="leaf", to="core.auditevent"),
                ),
            ],
            options={"ordering": ["leaf_index"]},
        ),
        migrations.CreateModel(
            name="SignedTreeHead",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("tree_size", models.BigIntegerField(db_index=True)),
                ("root_hash", models.CharField(max_length=64)),
                ("timestamp_ms", models.BigIntegerField(unique=True)),
                ("signed", models.TextField()),
                ("frontier", models.JSONField(default=list)),
            ],
            options={"ordering": ["timestamp_ms"]},
        ),
        migrations.RunPython(protect, migrations.RunPython.noop),
    ]
