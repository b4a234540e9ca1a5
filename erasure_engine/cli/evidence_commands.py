"""Offline verification of signed evidence (certificates of erasure, audit anchors)."""

from __future__ import annotations

import json
from pathlib import Path

from erasure_engine.errors import InvalidInput
from erasure_engine.evidence import load_public_key, verify_document


def register(subparsers) -> None:
    verify = subparsers.add_parser(
        "verify-certificate",
        help="verify a signed certificate (or any signed evidence file) offline with the public key",
    )
    verify.add_argument("certificate", type=Path, help="the signed JSON file")
    verify.add_argument("--public-key", type=Path, required=True, help="the issuer's Ed25519 public key (PEM)")
    verify.set_defaults(handler=verify_certificate)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise InvalidInput(f"cannot read the {what} {path}: {error.strerror}") from None


def verify_certificate(args) -> int:
    public_key = load_public_key(_read(args.public_key, "public key"))
    signed = verify_document(_read(args.certificate, "certificate"), public_key)
    print(f"VALID: signed by key {signed.key_id}; document sha256 {signed.sha256}")
    print(json.dumps(signed.document, indent=2, sort_keys=True))
    return 0
