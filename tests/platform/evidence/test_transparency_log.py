"""One test per attack on the audit log: each is detected and named by the verifier.

The attacker is the database owner (triggers disabled), sometimes also holding the platform's
MAC and signing keys (an insider with the application's environment), and the application's
own object-store identity, which can add delete markers and new versions but not destroy
Object-Locked anchor versions. Anchors live in a real moto S3 bucket with Object Lock."""

import json
import uuid
from contextlib import contextmanager

import pytest
from django.core.management import call_command
from django.db import connection

from erasure_engine.cli import main as engine_main
from erasure_engine.evidence import public_key_pem
from erasure_engine.evidence.log import Tampering, event_mac, tree_head_sign
from erasure_engine.evidence.merkle import MerkleTree
from erasure_engine.evidence.transparency_checks import signed_tree_head_from_json, tree_heads_consistency_check
from erasure_platform.core.audit_privileges import LOG_TABLES
from erasure_platform.core.models import AuditEvent, AuditLogLeaf, SignedTreeHead
from erasure_platform.core.services.audit import audit_event_content, audit_mac_key, audit_record
from erasure_platform.evidence.keys import evidence_public_key, evidence_signing_key
from erasure_platform.evidence.selectors import audit_chain_verify_with_anchors, log_consistency_proof
from erasure_platform.evidence.services import transparency_log
from erasure_platform.evidence.services.anchors import ANCHOR_PREFIX, audit_anchor_write
from erasure_platform.evidence.services.certificates import certificate_issue
from erasure_platform.evidence.services.transparency_log import audit_log_fold
from tests.platform.evidence.helpers import complete


@pytest.fixture(autouse=True)
def anchor_bucket(s3_client, s3_endpoint, settings):
    name = f"anchors-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    settings.AUDIT_ANCHOR_STORE_URL = f"s3://{name}/"
    settings.AUDIT_ANCHOR_ENDPOINT_URL = s3_endpoint
    return name


def record(n: int, entity_id: str = "r1"):
    for i in range(n):
        audit_record(
            actor="user:officer",
            action="request.identity_code_rejected",
            entity_type="erasure_request",
            entity_id=entity_id,
            data={"attempts": i},
        )


def sign_and_anchor():
    audit_log_fold(heartbeat_seconds=0)
    return audit_anchor_write()


@contextmanager
def owner_without_triggers():
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses pending deferred FK checks
        for table in LOG_TABLES:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table in LOG_TABLES:
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def rewrite_with_keys(event: AuditEvent, new_data: dict) -> None:
    """An insider with the database AND the platform's keys: a MAC-valid change, the tree rebuilt
    by the honest folder, every database tree head re-signed. Only what left the database can tell."""
    content = audit_event_content(
        uid=event.uid,
        occurred_at=event.occurred_at,
        actor=event.actor,
        action=event.action,
        entity_type=event.entity_type,
        entity_id=event.entity_id,
        data=new_data,
    )
    with owner_without_triggers():
        AuditEvent.objects.filter(pk=event.pk).update(data=new_data, mac=event_mac(audit_mac_key(), content))
        AuditLogLeaf.objects.all().delete()
        SignedTreeHead.objects.all().delete()
    audit_log_fold(heartbeat_seconds=0)


def kinds():
    return audit_chain_verify_with_anchors().kinds()


@pytest.mark.django_db
def test_an_honest_log_verifies_against_its_anchors():
    record(3)
    assert sign_and_anchor()["tree_size"] == 3
    assert audit_anchor_write() is None, "the same head is anchored once"
    record(2)
    sign_and_anchor()
    result = audit_chain_verify_with_anchors()
    assert result.ok, result.problems
    assert result.anchors_checked == 2 and result.last_anchor_sequence == 5


@pytest.mark.django_db
def test_changed_row():
    record(4)
    sign_and_anchor()
    with owner_without_triggers(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_auditevent SET actor = 'user:mallory' WHERE sequence = %s",
            [AuditEvent.objects.order_by("sequence")[1].sequence],
        )
    result = audit_chain_verify_with_anchors()
    assert result.kinds() == {Tampering.CHANGED_ROW}
    assert result.chain["first_broken_sequence"] == AuditEvent.objects.order_by("sequence")[1].sequence


@pytest.mark.django_db
def test_consistent_rewrite():
    record(4)
    sign_and_anchor()
    rewrite_with_keys(AuditEvent.objects.order_by("sequence")[1], {"i": "forged"})
    # The database alone now looks perfect: MACs hold, leaves match, every head is validly signed.
    assert kinds() == {Tampering.CONSISTENT_REWRITE}
    assert any("anchored" in p for p in audit_chain_verify_with_anchors().problems)


@pytest.mark.django_db
def test_truncation():
    record(5)
    sign_and_anchor()
    with owner_without_triggers():
        doomed = list(AuditLogLeaf.objects.filter(leaf_index__gte=3).values_list("event_id", flat=True))
        AuditLogLeaf.objects.filter(leaf_index__gte=3).delete()
        AuditEvent.objects.filter(sequence__in=doomed).delete()
    assert kinds() == {Tampering.TRUNCATION}


@pytest.mark.django_db
def test_anchor_hidden_by_delete_markers(s3_client, anchor_bucket):
    """The issue's attack: a full rewrite, then every anchor key deleted with the app's own credentials."""
    record(4)
    sign_and_anchor()
    rewrite_with_keys(AuditEvent.objects.order_by("sequence")[0], {"i": "forged"})
    for item in s3_client.list_objects_v2(Bucket=anchor_bucket, Prefix=ANCHOR_PREFIX)["Contents"]:
        s3_client.delete_object(Bucket=anchor_bucket, Key=item["Key"])
    assert s3_client.list_objects_v2(Bucket=anchor_bucket, Prefix=ANCHOR_PREFIX).get("KeyCount") == 0
    assert audit_anchor_write() is not None  # the forged head gets anchored too...
    found = kinds()
    assert {Tampering.ANCHOR_HIDDEN, Tampering.CONSISTENT_REWRITE} <= found  # ...but the hidden version still speaks


@pytest.mark.django_db
def test_anchor_overwritten(s3_client, anchor_bucket):
    record(3)
    anchor = sign_and_anchor()
    rewrite_with_keys(AuditEvent.objects.order_by("sequence")[2], {"i": "forged"})
    forged_head = SignedTreeHead.objects.order_by("-timestamp_ms").first()
    s3_client.put_object(Bucket=anchor_bucket, Key=anchor["object_key"], Body=forged_head.signed.encode())
    assert {Tampering.ANCHOR_OVERWRITTEN, Tampering.CONSISTENT_REWRITE} <= kinds()


@pytest.mark.django_db
def test_sth_rollback():
    record(3)
    sign_and_anchor()
    record(2)
    sign_and_anchor()
    # Roll the log back to 3 events (with the keys, so nothing in the database looks wrong) and go on.
    with owner_without_triggers():
        doomed = list(AuditLogLeaf.objects.filter(leaf_index__gte=3).values_list("event_id", flat=True))
        AuditLogLeaf.objects.filter(leaf_index__gte=3).delete()
        AuditEvent.objects.filter(sequence__in=doomed).delete()
        SignedTreeHead.objects.filter(tree_size__gt=3).delete()
    record(1)
    sign_and_anchor()
    assert Tampering.STH_ROLLBACK in kinds()


@pytest.mark.django_db
def test_missing_anchor_at_the_expected_cadence(monkeypatch, settings):
    record(2)
    sign_and_anchor()
    real_now = transparency_log._now_ms
    gap_ms = (settings.AUDIT_ANCHOR_MAX_GAP_SECONDS + 60) * 1000
    monkeypatch.setattr(transparency_log, "_now_ms", lambda: real_now() + gap_ms)
    record(1)
    audit_log_fold(heartbeat_seconds=0)  # the log is active, but this head is never anchored
    monkeypatch.setattr(transparency_log, "_now_ms", lambda: real_now() + 2 * gap_ms)
    record(1)
    sign_and_anchor()
    assert kinds() == {Tampering.ANCHOR_MISSING}


@pytest.mark.django_db
def test_downtime_is_not_a_missing_anchor(monkeypatch, settings):
    record(2)
    sign_and_anchor()
    real_now = transparency_log._now_ms
    monkeypatch.setattr(
        transparency_log, "_now_ms", lambda: real_now() + (settings.AUDIT_ANCHOR_MAX_GAP_SECONDS + 60) * 1000
    )
    record(1)
    sign_and_anchor()  # the dispatcher was down: nothing was signed or anchored in between
    assert audit_chain_verify_with_anchors().ok


@pytest.mark.django_db
def test_an_unanchored_tree_head_is_named(monkeypatch, settings):
    record(2)
    sign_and_anchor()
    real_now = transparency_log._now_ms
    monkeypatch.setattr(
        transparency_log, "_now_ms", lambda: real_now() + (settings.AUDIT_ANCHOR_MAX_GAP_SECONDS + 60) * 1000
    )
    record(1)
    audit_log_fold(heartbeat_seconds=0)  # signed, never anchored
    assert kinds() == {Tampering.ANCHOR_MISSING}


@pytest.mark.django_db
def test_verify_command_names_the_tampering(capsys, s3_client, anchor_bucket):
    record(3)
    call_command("anchor_audit_chain")
    assert '"tree_size": 3' in capsys.readouterr().out
    call_command("verify_audit_chain")
    assert "1 anchor(s) agree" in capsys.readouterr().out
    rewrite_with_keys(AuditEvent.objects.order_by("sequence")[0], {"i": "forged"})
    key = s3_client.list_objects_v2(Bucket=anchor_bucket, Prefix=ANCHOR_PREFIX)["Contents"][0]["Key"]
    s3_client.delete_object(Bucket=anchor_bucket, Key=key)
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_audit_chain")
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "consistent_rewrite: history rewritten" in err and "anchor_hidden: anchor" in err


@pytest.mark.django_db
def test_a_certificate_issued_before_a_rewrite_fails_consistency_after_it(verified_request, officer, tmp_path, capsys):
    request, _ = verified_request()
    request = complete(request, officer)
    certificate = certificate_issue(erasure_request=request)
    from erasure_platform.core.object_store import platform_object_store

    certificate_file = tmp_path / "certificate.json"
    certificate_file.write_bytes(platform_object_store().get_bytes(certificate.json_key))
    public_key_file = tmp_path / "public.pem"
    public_key_file.write_bytes(public_key_pem(evidence_signing_key()))
    document = json.loads(certificate_file.read_bytes())["document"]
    certificate_head = signed_tree_head_from_json(document["transparency"]["sth"], evidence_public_key())

    def later_head_and_proof(name: str):
        audit_log_fold(heartbeat_seconds=0)
        later = SignedTreeHead.objects.order_by("-timestamp_ms").first()
        (tmp_path / f"{name}-sth.json").write_text(later.signed)
        proof = log_consistency_proof(first=certificate_head.tree_size, second=later.tree_size)
        (tmp_path / f"{name}-proof.json").write_text(json.dumps(proof))
        return [
            str(certificate_file),
            "--public-key",
            str(public_key_file),
            "--later-sth",
            str(tmp_path / f"{name}-sth.json"),
            "--consistency-proof",
            str(tmp_path / f"{name}-proof.json"),
        ]

    record(2)
    assert engine_main(["verify-certificate", *later_head_and_proof("honest")]) == 0
    assert "CONSISTENT" in capsys.readouterr().out

    granted = AuditEvent.objects.get(entity_id=str(request.id), action="request.granted")
    rewrite_with_keys(granted, {**granted.data, "reason": "rewritten"})
    assert engine_main(["verify-certificate", *later_head_and_proof("rewritten")]) == 1
    assert "TAMPERED inconsistent_sth" in capsys.readouterr().out
    later = signed_tree_head_from_json(json.loads((tmp_path / "rewritten-sth.json").read_text()), evidence_public_key())
    proof = json.loads((tmp_path / "rewritten-proof.json").read_text())["consistency_proof"]
    assert tree_heads_consistency_check(certificate_head, later, proof).kind == Tampering.INCONSISTENT_STH


@pytest.mark.django_db
def test_a_certificate_with_an_altered_event_fails_offline(verified_request, officer, tmp_path, capsys):
    request, _ = verified_request()
    certificate = certificate_issue(erasure_request=complete(request, officer))
    from erasure_engine.evidence import sign_document
    from erasure_platform.core.object_store import platform_object_store

    document = json.loads(platform_object_store().get_bytes(certificate.json_key))["document"]
    document["transparency"]["events"][0]["event"]["actor"] = "user:someone-else"
    # Even re-signed with the platform's own key, the event is no longer the logged one.
    (tmp_path / "c.json").write_bytes(sign_document(document, evidence_signing_key()))
    (tmp_path / "k.pem").write_bytes(public_key_pem(evidence_signing_key()))
    assert engine_main(["verify-certificate", str(tmp_path / "c.json"), "--public-key", str(tmp_path / "k.pem")]) == 1
    assert "TAMPERED invalid_proof" in capsys.readouterr().out


@pytest.mark.django_db
def test_public_endpoints_serve_heads_and_proofs_anonymously(client):
    assert client.get("/api/log/sth").status_code == 404
    record(5)
    audit_log_fold(heartbeat_seconds=0)
    record(2)
    audit_log_fold(heartbeat_seconds=0)
    public_key = evidence_public_key()
    latest = signed_tree_head_from_json(client.get("/api/log/sth").json(), public_key)
    heads = [signed_tree_head_from_json(value, public_key) for value in client.get("/api/log/sths").json()]
    assert [h.tree_size for h in heads] == [5, 7] and latest.tree_size == 7
    proof = client.get("/api/log/proof/consistency", {"first": 5, "second": 7}).json()["consistency_proof"]
    assert tree_heads_consistency_check(heads[0], latest, proof) is None
    inclusion = client.get("/api/log/proof/inclusion", {"leaf_index": 3, "tree_size": 7}).json()
    leaves = client.get("/api/log/leaves", {"start": 0, "end": 7}).json()["leaf_hashes"]
    assert inclusion["leaf_hash"] == leaves[3]
    assert MerkleTree([bytes.fromhex(h) for h in leaves]).root() == latest.root_hash
    assert client.get("/api/log/proof/inclusion", {"leaf_index": 3, "tree_size": 8}).status_code == 404
    assert client.get("/api/log/proof/inclusion", {"leaf_index": "x", "tree_size": 7}).status_code == 400
    assert client.get("/api/log/leaves", {"start": 0, "end": 20_000}).status_code == 400
    schema = client.get("/api/schema/").content.decode()
    assert "/api/log/sth" in schema and "/api/log/proof/consistency" in schema


@pytest.mark.django_db
def test_verify_log_checks_an_export_offline(tmp_path, capsys):
    record(4)
    audit_log_fold(heartbeat_seconds=0)
    record(3)
    audit_log_fold(heartbeat_seconds=0)
    call_command("export_audit_log")
    export = json.loads(capsys.readouterr().out)
    (tmp_path / "k.pem").write_bytes(public_key_pem(evidence_signing_key()))
    (tmp_path / "log.json").write_text(json.dumps(export))
    args = ["verify-log", "--public-key", str(tmp_path / "k.pem"), "--export", str(tmp_path / "log.json")]
    assert engine_main(args) == 0
    export["leaf_hashes"][1] = "00" * 32
    (tmp_path / "log.json").write_text(json.dumps(export))
    assert engine_main(args) == 1
    assert "TAMPERED consistent_rewrite" in capsys.readouterr().out
    # A forged tree head signed by another key is named too.
    from erasure_engine.evidence import generate_private_key_pem, load_private_key

    other = tree_head_sign(
        tree_size=1, root_hash=b"\0" * 32, timestamp_ms=1, private_key=load_private_key(generate_private_key_pem())
    )
    export["sths"].append(json.loads(other.signed))
    (tmp_path / "log.json").write_text(json.dumps(export))
    assert engine_main(args) == 1
    assert "TAMPERED invalid_sth" in capsys.readouterr().out
