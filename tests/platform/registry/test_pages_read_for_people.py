"""The ML pages read for people: the version page turns the engine's verdict and cost into labelled
figures with units, names requests by their reference, and dates read one way everywhere."""

import re

import pytest
from django.test import Client
from django.utils import timezone

from erasure_platform.core.models import Job
from erasure_platform.registry import selectors
from erasure_platform.registry.models import Model
from erasure_platform.subject_requests.services import request_create
from tests.platform.portal.readable import main_text, unreadable
from tests.platform.registry.helpers import ENGINE_LIKE_COST, PASSWORD, users, worded_candidate

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    return users()


@pytest.fixture
def served():

    request, _ = request_create(identifier="ada@example.com", jurisdiction="GDPR", channel="portal")
    return request


def page(user: str, path: str) -> str:
    client = Client()
    assert client.login(username=user, password=PASSWORD)
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def test_version_page_shows_figures_units_labels_and_request_references(people, served):
    model = Model.objects.create(name="worded-model", kind="classifier", created_by="test")
    version = worded_candidate(model, request_id=str(served.id))
    html = page("approver", f"/ml/versions/{version.pk}/")
    text = main_text(html)
    assert not unreadable(text), unreadable(text)

    # The cost: a table with units, durations in the unit people think in, fractions as percentages.
    assert "Time taken 1.55 minutes" in text and "A full training run took 66.7 minutes" in text
    assert "Share of a full retrain (samples) 75.1 %" in text and "Samples processed 1,234 samples" in text
    assert "Forget weight: 1.5 · Learning rate: 1.23 × 10⁻⁴" in text
    # The metrics: labels, figures and units for a classifier (accuracy, never perplexity).
    assert "Membership · Loss · AUC 0.623 AUC (0.5 = chance)" in text
    assert "Utility · Retain accuracy drop 0.0333 accuracy (0.02 = 2 points)" in text
    assert "Oracle · Forget quality 1.23 × 10⁻⁴ p-value 0.05" in text
    assert "Not above target" in text and "Closer to target is better" in text
    assert "perplexity" not in text and "nats per token" not in text
    assert "(failed: Membership · Loss · AUC, Utility · Retain accuracy drop)" in text
    # Requests by the reference the officer sees; engineers and approvers reach them by lineage.
    assert served.reference in text and f'href="/ml/lineage/?q={served.reference}"' in html
    assert str(served.id) not in text
    due = timezone.localtime(version.batch.members.get().plan.deadline_at).strftime("%-d %B %Y")
    assert f"(due {due})" in text
    # Officers open the request itself.
    assert f'href="/requests/review/{served.id}/"' in page("officer", f"/ml/versions/{version.pk}/")


def test_language_model_units_are_per_token():
    assert selectors.loss_unit(kind="lm") == "nats per token"
    assert "nats" in selectors.loss_unit(kind="classifier") and "token" not in selectors.loss_unit(kind="classifier")
    assert "perplexity" in selectors.metric_unit(name="utility.retain_perplexity_increase", kind="lm-lora")
    assert selectors.metric_unit(name="utility.general_accuracy_drop", kind="classifier").startswith("accuracy")
    assert selectors.metric_unit(name="membership.loss.subject_auc", kind="classifier").startswith("AUC")
    assert selectors.version_cost(cost={"slices_retrained": 1})[0]["unit"] == "slice"


@pytest.mark.parametrize("kind,shown", [("lm-lora", "LM LoRA"), ("classifier", "Classifier")])
def test_model_pages_show_labels_and_one_date_format(people, served, kind, shown):
    model = Model.objects.create(name="worded-model", kind=kind, created_by="test")
    worded_candidate(model, request_id=str(served.id))
    for path in ("/ml/", f"/ml/models/{model.name}/"):
        text = main_text(page("engineer", path))
        assert not unreadable(text), (path, unreadable(text))
        assert shown in text and "Gradient difference" in text
    text = main_text(page("engineer", f"/ml/models/{model.name}/"))
    assert "Awaiting approval" in text
    assert re.search(r"\d{1,2} [A-Z][a-z]+ \d{4}, \d{2}:\d{2} UTC", text)  # "1 December 2026, 10:40 UTC"
    assert not re.search(r"\b(Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\. \d", text)  # Django's "Dec. 1, 2026"


def test_job_page_shows_the_result_as_facts_and_a_cost_table(people, served):

    model = Model.objects.create(name="worded-model", kind="classifier", created_by="test")
    version = worded_candidate(model, request_id=str(served.id))
    job = Job.objects.create(
        kind="orchestration.unlearn",
        queue="gpu",
        status=Job.Status.SUCCEEDED,
        progress=1.0,
        created_by="engineer",
        result={
            "candidate": str(version.pk),
            "version_id": version.version_id,
            "method": "gradient_difference",
            "cost": ENGINE_LIKE_COST,
        },
    )
    html = page("engineer", f"/ml/jobs/{job.pk}/")
    text = main_text(html)
    assert not unreadable(text), unreadable(text)
    assert "Method Gradient difference" in text and "Time taken 1.55 minutes" in text
    assert f'href="/ml/versions/{version.pk}/"' in html

    # An exact unlearning job's result names its restoring retrain: shard jobs are links, not UUIDs.
    shard_job = Job.objects.create(kind="orchestration.retrain_shard", queue="gpu", created_by="engineer")
    Job.objects.filter(pk=job.pk).update(
        result=job.result | {"restoring": {"version_id": "v-1", "shard_jobs": {"1": str(shard_job.pk)}}}
    )
    html = page("engineer", f"/ml/jobs/{job.pk}/")
    assert not unreadable(main_text(html)), unreadable(main_text(html))
    assert "1 shard job(s) retrain the affected shards" in main_text(html)
    assert f'href="/ml/jobs/{shard_job.pk}/"' in html
