import uuid

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("core", "0003_transparency_log"),
        ("registry", "0005_model_import"),
    ]

    # The tables exist (created by registry's migrations as registry_*): this app takes over
    # their state only, so no row is copied and no table renamed.
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ErasurePlan",
                    fields=[
                        ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ("request_id", models.CharField(max_length=64, unique=True)),
                        ("subject_key", models.CharField(db_index=True, max_length=64)),
                        ("scope", models.JSONField(default=dict)),
                        ("deadline_at", models.DateTimeField()),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("erasing", "Erasing"),
                                    ("awaiting_models", "Awaiting Models"),
                                    ("completed", "Completed"),
                                    ("failed", "Failed"),
                                ],
                                default="erasing",
                                max_length=20,
                            ),
                        ),
                        ("datasets", models.JSONField(default=list)),
                        ("forget_set_key", models.CharField(blank=True, max_length=300)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("completed_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "erase_job",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to="core.job",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "registry_erasureplan",
                        "ordering": ["-created_at"],
                    },
                ),
                migrations.CreateModel(
                    name="UnlearningBatch",
                    fields=[
                        ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("open", "Open"),
                                    ("unlearning", "Unlearning"),
                                    ("verifying", "Verifying"),
                                    ("awaiting_approval", "Awaiting Approval"),
                                    ("released", "Released"),
                                    ("rejected", "Rejected"),
                                    ("failed", "Failed"),
                                    ("nothing_to_do", "Nothing To Do"),
                                ],
                                db_index=True,
                                default="open",
                                max_length=20,
                            ),
                        ),
                        ("opens_at", models.DateTimeField()),
                        ("closes_at", models.DateTimeField()),
                        ("closed_at", models.DateTimeField(blank=True, null=True)),
                        ("started_by", models.CharField(default="system:orchestration", max_length=200)),
                        ("error", models.TextField(blank=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "model",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT, related_name="batches", to="registry.model"
                            ),
                        ),
                        (
                            "parent_version",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="registry.modelversion",
                            ),
                        ),
                        (
                            "unlearn_job",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to="core.job",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "registry_unlearningbatch",
                        "ordering": ["-created_at"],
                    },
                ),
                migrations.CreateModel(
                    name="ModelOutcome",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "status",
                            models.CharField(
                                choices=[("pending", "Pending"), ("done", "Done"), ("skipped", "Skipped")],
                                default="pending",
                                max_length=20,
                            ),
                        ),
                        ("skipped_reason", models.CharField(blank=True, max_length=2000)),
                        ("recorded_by", models.CharField(blank=True, max_length=200)),
                        (
                            "model",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="outcomes",
                                to="registry.model",
                            ),
                        ),
                        (
                            "plan",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="outcomes",
                                to="orchestration.erasureplan",
                            ),
                        ),
                        (
                            "version_after",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="registry.modelversion",
                            ),
                        ),
                        (
                            "version_before",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="registry.modelversion",
                            ),
                        ),
                        (
                            "batch",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="members",
                                to="orchestration.unlearningbatch",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "registry_modeloutcome",
                        "ordering": ["id"],
                        "constraints": [
                            models.UniqueConstraint(fields=("plan", "model"), name="registry_outcome_once")
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
