from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("registry", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="modelversion",
            name="provenance",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
