from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

urlpatterns = [
    path("", include("erasure_platform.portal.urls")),
    path("api/", include("erasure_platform.core.urls")),
    path("api/", include("erasure_platform.subject_requests.api.urls")),
    path("api/", include("erasure_platform.registry.api.urls")),
    path("api/", include("erasure_platform.orchestration.api.urls")),
    path("requests/", include("erasure_platform.subject_requests.urls")),
    path("ml/", include("erasure_platform.registry.urls")),
    path("ml/", include("erasure_platform.orchestration.urls")),
    path("api/", include("erasure_platform.evidence.api.urls")),
    path("evidence/", include("erasure_platform.evidence.urls")),
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[AllowAny]), name="api-schema"),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="api-schema", permission_classes=[AllowAny]),
        name="api-docs",
    ),
    path(
        "api/redoc/",
        SpectacularRedocView.as_view(url_name="api-schema", permission_classes=[AllowAny]),
        name="api-redoc",
    ),
    path("admin/", admin.site.urls),
]

# Unknown /api/ URLs and unreadable requests answer in the API's JSON error shape (portal pages keep HTML).
handler404 = "erasure_platform.core.api.errors.api_aware_not_found"
handler400 = "erasure_platform.core.api.errors.api_aware_bad_request"
# The database unreachable answers 503 + Retry-After, never an HTML 500 under /api/.
handler500 = "erasure_platform.core.api.errors.api_aware_server_error"
