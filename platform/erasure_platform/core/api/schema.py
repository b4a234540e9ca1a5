"""OpenAPI schema post-processing shared by every API app."""

from __future__ import annotations

# The component drf-spectacular makes of core.api.errors.ApiErrorSerializer (every app uses it).
ERROR_SCHEMA = {"$ref": "#/components/schemas/ApiError"}


def document_unsupported_media_type(result, generator, request, public):
    """Every operation that reads a body answers 415 (in the one error shape) when the body's
    content type is not one it parses; say so in the schema instead of in each view."""
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                operation.setdefault("responses", {}).setdefault("415", {
                    "description": "The request body's media type is not supported",
                    "content": {"application/json": {"schema": ERROR_SCHEMA}},
                })
    return result
