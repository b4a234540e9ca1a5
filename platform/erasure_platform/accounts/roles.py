"""Staff roles. Data owners have no account: they prove control of an identifier instead."""

from enum import StrEnum


class Role(StrEnum):
    OFFICER = "compliance_officer"
    ML_ENGINEER = "ml_engineer"
    RELEASE_APPROVER = "release_approver"
    AUDITOR = "auditor"


ROLE_LABELS = {
    Role.OFFICER: "Compliance officer",
    Role.ML_ENGINEER: "ML engineer",
    Role.RELEASE_APPROVER: "ML release approver",
    Role.AUDITOR: "Auditor (read-only)",
}
