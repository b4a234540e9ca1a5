"""OpenAPI schema post-processing shared by every API app."""

from __future__ import annotations

# The component drf-spectacular makes of core.api.errors.ApiErrorSerializer (every app uses it).
ERROR_SCHEMA = {"$ref": "#/components/schemas/ApiError"}

# Stateful walks (schemathesis' stateful phase, any OpenAPI client): the owner's journey
# request -> status -> certificate -> verification, by the access token the first answer returns.
OWNER_LINKS = {
    ("erasure_request_create", "201"): {
        "OwnerStatus": {
            "operationId": "erasure_request_owner_status",
            "parameters": {"token": "$response.body#/access_token"},
        },
        "OwnerVerify": {
            "operationId": "erasure_request_verify",
            "parameters": {"token": "$response.body#/access_token"},
        },
        "OwnerResendCode": {
            "operationId": "erasure_request_resend_code",
            "parameters": {"token": "$response.body#/access_token"},
        },
    },
    ("erasure_request_owner_status", "200"): {
        "OwnerCertificate": {
            "operationId": "erasure_request_owner_certificate",
            "parameters": {"token": "$request.path.token"},
        },
    },
    ("erasure_request_owner_certificate", "200"): {
        "VerifyCertificate": {
            "operationId": "certificates_verify_create",
            "requestBody": {"certificate": "$response.body#/certificate"},
        },
    },
}


def _operations(result):
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if isinstance(operation, dict) and "responses" in operation:
                yield operation


def _error_response(description: str, headers: dict | None = None) -> dict:
    response = {"description": description, "content": {"application/json": {"schema": ERROR_SCHEMA}}}
    if headers:
        response["headers"] = headers
    return response


def document_unsupported_media_type(result, generator, request, public):
    """Every operation that reads a body answers 415 (in the one error shape) when the body's
    content type is not one it parses; say so in the schema instead of in each view."""
    for operation in _operations(result):
        if "requestBody" in operation:
            operation["responses"].setdefault("415", _error_response("The request body's media type is not supported"))
    return result


def document_body_and_availability_errors(result, generator, request, public):
    """Every body may be refused as unreadable (too large, too deep, not JSON): 400. Any operation
    answers 503 with Retry-After while the database cannot be reached."""
    for operation in _operations(result):
        if "requestBody" in operation:
            operation["responses"].setdefault("400", _error_response("The body could not be read or is not valid"))
        operation["responses"].setdefault(
            "503",
            _error_response(
                "The service (its database) is temporarily unavailable",
                {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before retrying"}},
            ),
        )
    return result


def document_authentication(result, generator, request, public):
    """Operations that need credentials answer 401 with WWW-Authenticate when none are sent
    (token authentication comes first, so DRF answers 401, not 403)."""
    for operation in _operations(result):
        security = operation.get("security")
        if security and {} not in security:
            response = operation["responses"].setdefault("401", _error_response("No credentials, or invalid ones"))
            response.setdefault("headers", {})["WWW-Authenticate"] = {
                "schema": {"type": "string"},
                "description": "The scheme to use: Token",
                "required": True,
            }
    return result


def declare_owner_links(result, generator, request, public):
    for operation in _operations(result):
        for (operation_id, status), links in OWNER_LINKS.items():
            if operation.get("operationId") == operation_id and status in operation["responses"]:
                operation["responses"][status].setdefault("links", {}).update(links)
    return result
