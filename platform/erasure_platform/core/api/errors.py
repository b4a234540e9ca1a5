"""One JSON error shape for every API failure: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler

from erasure_platform.core.api.parsers import BodyRefused
from erasure_platform.core.errors import ApplicationError


def error_body(code: str, message: str, details=None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def api_exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):  # a body no parser accepts, read whole to refuse it
        exc = BodyRefused("the request body is too large")
    response = exception_handler(exc, context)
    if response is None:
        return None  # unexpected: Django's 500 handling (and logging) takes over
    if isinstance(exc, exceptions.ValidationError):
        body = error_body("validation_error", "the request is not valid; see details", response.data)
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        body = error_body(str(code), str(detail))
    response.data = body
    return response


# ---- errors raised outside any API view (no URL matched, body too large): JSON under /api/ ----


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def api_aware_not_found(request, exception=None):
    """handler404: an unknown /api/ URL (e.g. a malformed id) answers in the API's error shape."""
    from django.http import JsonResponse
    from django.views import defaults

    if _is_api(request):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    return defaults.page_not_found(request, exception)


def api_aware_bad_request(request, exception=None):
    """handler400: a request Django refuses before any view (e.g. a body over
    DATA_UPLOAD_MAX_MEMORY_SIZE) answers in the API's error shape under /api/."""
    from django.http import JsonResponse
    from django.views import defaults

    if _is_api(request):
        return JsonResponse(
            error_body("bad_request", "The request could not be read (too large or malformed)."), status=400
        )
    return defaults.bad_request(request, exception)


DATABASE_RETRY_AFTER_SECONDS = 5


def _database_unavailable(error: BaseException | None) -> bool:
    from django.db import InterfaceError, OperationalError

    return isinstance(error, OperationalError | InterfaceError)


def api_aware_server_error(request):
    """handler500, wherever the failure happened (view, middleware, session lookup):
    the database unreachable answers 503 with Retry-After (JSON under /api/), and any other
    failure under /api/ answers 500 in the API's error shape, never an HTML page."""
    import sys

    from django.http import HttpResponse, JsonResponse
    from django.views import defaults

    error = sys.exc_info()[1]
    if _database_unavailable(error):
        if _is_api(request):
            response = JsonResponse(
                error_body("service_unavailable", "The database cannot be reached; try again shortly."), status=503
            )
        else:
            response = HttpResponse(
                "<!doctype html><title>Unavailable</title><h1>Temporarily unavailable</h1>"
                "<p>Please try again in a few seconds.</p>",
                status=503,
            )
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response
    if _is_api(request):
        return JsonResponse(
            error_body("server_error", "Something went wrong on our side; it has been logged."), status=500
        )
    return defaults.server_error(request)


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField()

    class Meta:
        ref_name = "ErrorBody"


class ApiErrorSerializer(serializers.Serializer):
    """The schema of error_body(): every API error, in every app."""

    error = ErrorBodySerializer()

    class Meta:
        ref_name = "ApiError"
