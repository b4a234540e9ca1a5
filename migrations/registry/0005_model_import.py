from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0004_lineage_intervals"),
    ]

    operations = [
        migrations.AddField(
            model_name="modelversion",
            name="provenance",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
