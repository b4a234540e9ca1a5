import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orchestration", "0001_initial"),
        ("registry", "0005_model_import"),
    ]

    # Erasure plans, outcomes and batches now belong to orchestration, which took over their
    # tables as they are: the registry forgets their state and points ModelVersion.batch there.
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name="modeloutcome",
                    name="plan",
                ),
                migrations.RemoveField(
                    model_name="modeloutcome",
                    name="batch",
                ),
                migrations.RemoveField(
                    model_name="modeloutcome",
                    name="model",
                ),
                migrations.RemoveField(
                    model_name="modeloutcome",
                    name="version_after",
                ),
                migrations.RemoveField(
                    model_name="modeloutcome",
                    name="version_before",
                ),
                migrations.RemoveField(
                    model_name="unlearningbatch",
                    name="model",
                ),
                migrations.RemoveField(
                    model_name="unlearningbatch",
                    name="parent_version",
                ),
                migrations.RemoveField(
                    model_name="unlearningbatch",
                    name="unlearn_job",
                ),
                migrations.AlterField(
                    model_name="modelversion",
                    name="batch",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="candidates",
                        to="orchestration.unlearningbatch",
                    ),
                ),
                migrations.DeleteModel(
                    name="ErasurePlan",
                ),
                migrations.DeleteModel(
                    name="ModelOutcome",
                ),
                migrations.DeleteModel(
                    name="UnlearningBatch",
                ),
            ],
            database_operations=[],
        ),
    ]
