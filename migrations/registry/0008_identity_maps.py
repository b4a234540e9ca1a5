"""Bring your own data: where a dataset version's records came from, and identity maps (pairs of
subject keys that belong to one person)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("registry", "0007_lineage_covering_index")]

    operations = [
        migrations.AddField("datasetversion", "source", models.JSONField(blank=True, null=True)),
        migrations.CreateModel(
            name="IdentityMap",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=64, unique=True)),
                ("description", models.CharField(blank=True, max_length=500)),
                ("source", models.JSONField(default=dict)),
                ("link_count", models.PositiveIntegerField(default=0)),
                ("created_by", models.CharField(max_length=150)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
        ),
        migrations.CreateModel(
            name="IdentityLink",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("subject_key", models.CharField(max_length=64)),
                ("linked_key", models.CharField(max_length=64)),
                (
                    "identity_map",
                    models.ForeignKey(
                        on_delete=models.deletion.CASCADE, related_name="links", to="registry.identitymap"
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("identity_map", "subject_key", "linked_key"), name="registry_identity_link"
                    )
                ],
                "indexes": [
                    models.Index(fields=["subject_key"], include=["linked_key"], name="registry_identity_lookup")
                ],
            },
        ),
    ]
