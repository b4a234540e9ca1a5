"""Offline verification of signed evidence: certificates of erasure (with their log proofs),
signed tree heads, and exports of the audit transparency log."""

from __future__ import annotations

import json
from pathlib import Path

from erasure_engine.errors import InvalidInput
from erasure_engine.evidence import load_public_key, verify_document
from erasure_engine.evidence.signing import MAX_DOCUMENT_DEPTH
from erasure_engine.evidence.transparency_checks import (
    certificate_transparency_check,
    log_export_check,
    signed_tree_head_from_json,
    tree_heads_consistency_check,
)
from erasure_engine.records import json_nesting_exceeds


def register(subparsers) -> None:
    verify = subparsers.add_parser(
        "verify-certificate",
        help="verify a signed certificate (or any signed evidence file) offline with the public key",
    )
    verify.add_argument("certificate", type=Path, help="the signed JSON file")
    verify.add_argument("--public-key", type=Path, required=True, help="the issuer's Ed25519 public key (PEM)")
    verify.add_argument("--later-sth", type=Path, help="a signed tree head kept since (e.g. from /api/log/sth)")
    verify.add_argument(
        "--consistency-proof",
        type=Path,
        help="JSON from /api/log/proof/consistency between the certificate's tree size and --later-sth's",
    )
    verify.set_defaults(handler=verify_certificate)

    log = subparsers.add_parser(
        "verify-log",
        help="check an audit log export (signed tree heads + leaf hashes) and/or that a newer tree head extends an older one",
    )
    log.add_argument("--public-key", type=Path, required=True, help="the log's Ed25519 public key (PEM)")
    log.add_argument("--export", type=Path, help='JSON {"sths": [signed tree heads], "leaf_hashes": [hex, ...]}')
    log.add_argument("--old", type=Path, help="a signed tree head you kept earlier")
    log.add_argument("--new", type=Path, help="a later signed tree head")
    log.add_argument(
        "--consistency-proof", type=Path, help="JSON from /api/log/proof/consistency (first=old, second=new)"
    )
    log.set_defaults(handler=verify_log)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise InvalidInput(f"cannot read the {what} {path}: {error.strerror}") from None


def _read_json(path: Path, what: str):
    """A JSON file from anyone: not UTF-8, not JSON or nested absurdly deep is a clear error."""
    try:
        text = _read(path, what).decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInput(f"the {what} {path} is not UTF-8 JSON: {error}") from None
    if json_nesting_exceeds(text, MAX_DOCUMENT_DEPTH):
        raise InvalidInput(f"the {what} {path} nests deeper than {MAX_DOCUMENT_DEPTH} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(f"the {what} {path} is not JSON: {error}") from None


def _proof(path: Path) -> list[str]:
    proof = _read_json(path, "consistency proof")
    if not isinstance(proof, dict) or not isinstance(proof.get("consistency_proof"), list):
        raise InvalidInput(f"{path} has no 'consistency_proof' list (save /api/log/proof/consistency's answer)")
    return proof["consistency_proof"]


def _report(findings, success: str) -> int:
    if findings:
        for finding in findings:
            print(f"TAMPERED {finding.kind}: {finding.message}")
        return 1
    print(success)
    return 0


def verify_certificate(args) -> int:
    public_key = load_public_key(_read(args.public_key, "public key"))
    signed = verify_document(_read(args.certificate, "certificate"), public_key)
    print(f"VALID: signed by key {signed.key_id}; document sha256 {signed.sha256}")
    findings, head = certificate_transparency_check(signed.document, public_key)
    if head is not None and not findings:
        print(f"LOGGED: {len(signed.document['transparency']['events'])} event(s) proven in {head.describe()}")
    if (args.later_sth is None) != (args.consistency_proof is None):
        raise InvalidInput("--later-sth and --consistency-proof go together")
    if args.later_sth is not None:
        if head is None:
            raise InvalidInput("this certificate carries no signed tree head to compare with --later-sth")
        later = signed_tree_head_from_json(_read_json(args.later_sth, "signed tree head"), public_key)
        finding = tree_heads_consistency_check(head, later, _proof(args.consistency_proof))
        findings += [finding] if finding else []
        if not finding:
            print(f"CONSISTENT: {later.describe()} extends the certificate's {head.describe()}")
    if not findings:
        print(json.dumps(signed.document, indent=2, sort_keys=True))
    return _report(findings, "certificate verified")


def verify_log(args) -> int:
    public_key = load_public_key(_read(args.public_key, "public key"))
    if args.export is None and args.old is None:
        raise InvalidInput("give --export, or --old with --new and --consistency-proof")
    findings = []
    if args.export is not None:
        export_findings, heads = log_export_check(_read_json(args.export, "log export"), public_key)
        findings += export_findings
        if not export_findings:
            print(f"EXPORT OK: {len(heads)} signed tree head(s) match the exported leaves and never shrink")
    if args.old is not None or args.new is not None:
        if args.old is None or args.new is None or args.consistency_proof is None:
            raise InvalidInput("--old, --new and --consistency-proof go together")
        old = signed_tree_head_from_json(_read_json(args.old, "old signed tree head"), public_key)
        new = signed_tree_head_from_json(_read_json(args.new, "new signed tree head"), public_key)
        finding = tree_heads_consistency_check(old, new, _proof(args.consistency_proof))
        findings += [finding] if finding else []
        if not finding:
            print(f"CONSISTENT: {new.describe()} extends {old.describe()}")
    return _report(findings, "log verified")
