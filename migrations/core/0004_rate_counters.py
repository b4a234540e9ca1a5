"""Atomic request counters for the throttles when no Redis is configured (core.rate_counters)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("core", "0003_transparency_log")]

    operations = [
        migrations.CreateModel(
            name="RateCounter",
            fields=[
                ("key", models.CharField(max_length=250, primary_key=True, serialize=False)),
                ("count", models.BigIntegerField(default=0)),
                ("expires_at", models.DateTimeField(db_index=True)),
            ],
        )
    ]
