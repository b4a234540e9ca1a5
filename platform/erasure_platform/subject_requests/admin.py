"""Read-only admin view of erasure requests: changes go through the services (and the audit chain)."""

from django.contrib import admin

from erasure_platform.subject_requests.models import ErasureRequest


@admin.register(ErasureRequest)
class ErasureRequestAdmin(admin.ModelAdmin):
    list_display = ("reference", "status", "jurisdiction", "channel", "received_on", "due_on", "responded_at")
    list_filter = ("status", "jurisdiction", "channel")
    search_fields = ("reference",)
    exclude = (
        "access_token_hash",
        "code_hash",
        "contact_email_encrypted",
        "verification_address_encrypted",
        "message_encrypted",
    )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
