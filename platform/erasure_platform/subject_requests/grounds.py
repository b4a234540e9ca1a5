"""The fixed lists of grounds on which an erasure request may be refused, per jurisdiction."""

from __future__ import annotations

from erasure_platform.subject_requests.deadlines import CCPA, GDPR

IDENTITY_NOT_VERIFIED = "identity_not_verified"

GROUNDS: dict[str, dict[str, str]] = {
    GDPR: {
        "gdpr_freedom_of_expression": "Exercising the right of freedom of expression and information (GDPR Art. 17(3)(a))",
        "gdpr_legal_obligation": "Compliance with a legal obligation, or a task in the public interest or official authority (GDPR Art. 17(3)(b))",
        "gdpr_public_health": "Reasons of public interest in the area of public health (GDPR Art. 17(3)(c))",
        "gdpr_archiving_research": "Archiving in the public interest, scientific or historical research or statistics (GDPR Art. 17(3)(d))",
        "gdpr_legal_claims": "Establishment, exercise or defence of legal claims (GDPR Art. 17(3)(e))",
        IDENTITY_NOT_VERIFIED: "We could not verify that the identifier is yours (GDPR Art. 11(2), 12(2))",
    },
    CCPA: {
        "ccpa_complete_transaction": "Needed to complete the transaction or provide the service you requested (CCPA §1798.105(d)(1))",
        "ccpa_security": "Needed to detect or protect against security incidents, fraud or illegal activity (CCPA §1798.105(d)(2))",
        "ccpa_debug": "Needed to debug and repair errors that impair existing functionality (CCPA §1798.105(d)(3))",
        "ccpa_free_speech": "Exercising free speech or another right provided by law (CCPA §1798.105(d)(4))",
        "ccpa_research": "Public or peer-reviewed research in the public interest (CCPA §1798.105(d)(6))",
        "ccpa_internal_expected_use": "Solely internal uses reasonably aligned with your expectations (CCPA §1798.105(d)(7))",
        "ccpa_legal_obligation": "Compliance with a legal obligation (CCPA §1798.105(d)(8))",
        IDENTITY_NOT_VERIFIED: "We could not verify your identity (CCPA Regs §7062)",
    },
}


def grounds_for(jurisdiction: str) -> dict[str, str]:
    return dict(GROUNDS.get(jurisdiction, {}))


def ground_label(jurisdiction: str, ground: str) -> str:
    return GROUNDS.get(jurisdiction, {}).get(ground, ground)


ALL_GROUND_CODES = sorted({code for grounds in GROUNDS.values() for code in grounds})
