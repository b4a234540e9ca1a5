"""The verify job calibrates LiRA with the parent's SISA shards: each shard's model trained only on
the subjects placed in it, so it is OUT for every other subject."""

import pytest
from django.test import Client

from erasure_platform.core.models import Job
from erasure_platform.core.services.jobs import job_execute
from erasure_platform.registry.models import ModelVersion
from erasure_platform.registry.services.models import engine_model_version
from tests.platform.orchestration.helpers import erase_and_unlearn
from tests.platform.registry.helpers import PASSWORD, World, users

pytestmark = pytest.mark.django_db


def test_the_verify_job_uses_the_parents_shards_as_lira_references(settings):
    settings.ERASURE_BATCH_WINDOW_SECONDS = 3600
    settings.JOB_LEASE_SECONDS = 1800
    people = users()
    world = World(subjects=9, shards=3, slices=1)
    batch = erase_and_unlearn(world, people["engineer"], request_id="lira-1")
    candidate = ModelVersion.objects.get(batch=batch)
    assert candidate.parent == world.production

    assert job_execute(job_id=candidate.verification_job_id, worker="t") == Job.Status.SUCCEEDED, Job.objects.get(
        pk=candidate.verification_job_id
    ).error
    candidate.refresh_from_db()
    verdict = candidate.verdict
    parent = engine_model_version(world.production)
    assert parent.shards == 3 and parent.active_shards == [0, 1, 2]
    assert verdict["references"] == {
        "source": "parent_shards",
        "version": world.production.version_id,
        "shards": [0, 1, 2],
        "count": 3,
    }
    inputs = verdict["inputs"]["references"]
    assert [ref["source"] for ref in inputs] == [
        f"{world.model.name}/{world.production.version_id} shard {shard}" for shard in range(3)
    ]
    # Every training subject is held by exactly one shard — the erased one too, although the
    # erasure redacted it from the parent's training manifest (its place is kept).
    assert sum(ref["trained_subjects"] for ref in inputs) == len(world.subjects)
    assert "membership.lira" not in verdict["skipped"]
    lira = next(metric for metric in verdict["metrics"] if metric["name"] == "membership.lira.auc")
    assert lira["value"] is not None and 0.0 <= lira["value"] <= 1.0

    # The version page says, in words, which references calibrated LiRA; the API carries them.
    browser = Client()
    browser.login(username="auditor", password=PASSWORD)
    html = browser.get(f"/ml/versions/{candidate.pk}/").content.decode()
    assert f"LiRA references: 3 shard models of the parent version {world.production.version_id}" in html
