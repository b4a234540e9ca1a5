"""A plan keeps every key of its person (identity maps): the requester's and the linked ones."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("orchestration", "0002_names_moved_with_the_code")]

    operations = [migrations.AddField("erasureplan", "subject_keys", models.JSONField(default=list))]
