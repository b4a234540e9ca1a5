import subprocess
import sys

import pytest

from erasure_engine.cli import main
from erasure_engine.errors import InvalidInput
from erasure_engine.evidence import (
    generate_private_key_pem,
    load_private_key,
    load_public_key,
    public_key_pem,
    sign_document,
    verify_document,
)
from erasure_engine.evidence.signing import SignatureInvalid

CERTIFICATE = {
    "schema_version": 1,
    "request": {"reference": "ER-2026-0001", "subject_key": "ab" * 32, "scope": {"type": "all"}},
    "datasets": [{"dataset": "customers", "version_before": "v1", "version_after": "v2", "removed": 3}],
    "models": [{"model": "support-lm", "version_before": "3", "version_after": "4", "method": "sisa-exact"}],
    "audit_chain_head": {"sequence": 42, "hash": "cd" * 32},
}


@pytest.fixture(scope="module")
def keys():
    private = load_private_key(generate_private_key_pem())
    return private, load_public_key(public_key_pem(private))


def test_a_signed_certificate_verifies(keys):
    private, public = keys
    signed = verify_document(sign_document(CERTIFICATE, private), public)
    assert signed.document == CERTIFICATE
    assert len(signed.key_id) == 16


def test_every_single_byte_change_fails(keys):
    private, public = keys
    data = sign_document(CERTIFICATE, private)
    for position in range(len(data)):
        tampered = bytearray(data)
        tampered[position] ^= 0x01
        with pytest.raises(SignatureInvalid):
            verify_document(bytes(tampered), public)


def test_meaningful_edit_is_reported_as_altered(keys):
    private, public = keys
    data = sign_document(CERTIFICATE, private).replace(b'"removed":3', b'"removed":4')
    with pytest.raises(SignatureInvalid, match="altered"):
        verify_document(data, public)


def test_another_key_is_named(keys):
    private, _ = keys
    other = load_private_key(generate_private_key_pem())
    with pytest.raises(SignatureInvalid, match="signed with key"):
        verify_document(sign_document(CERTIFICATE, private), other.public_key())


def test_bad_keys_and_documents_are_refused(keys):
    private, _ = keys
    with pytest.raises(InvalidInput):
        load_public_key(b"not a key")
    with pytest.raises(InvalidInput):
        sign_document({}, private)


def test_cli_verifies_offline_and_rejects_a_changed_file(keys, tmp_path, capsys):
    private, _ = keys
    certificate = tmp_path / "certificate.json"
    public = tmp_path / "public.pem"
    certificate.write_bytes(sign_document(CERTIFICATE, private))
    public.write_bytes(public_key_pem(private))
    assert main(["verify-certificate", str(certificate), "--public-key", str(public)]) == 0
    assert "VALID" in capsys.readouterr().out

    certificate.write_bytes(certificate.read_bytes().replace(b"support-lm", b"support-LM"))
    result = subprocess.run(
        [sys.executable, "-m", "erasure_engine", "verify-certificate", str(certificate), "--public-key", str(public)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "error [signature_invalid]" in result.stderr
