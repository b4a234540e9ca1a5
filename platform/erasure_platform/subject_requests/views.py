"""Portal pages: owners (no account, token link) and staff (officers act, auditors read)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from erasure_platform.accounts.decorators import role_required
from erasure_platform.accounts.roles import Role
from erasure_platform.accounts.selectors import user_roles
from erasure_platform.core.api.throttling import IntakeThrottle, VerifyThrottle, throttle_wait
from erasure_platform.core.errors import ApplicationError, NotFound
from erasure_platform.subject_requests import charts, exports, selectors, services
from erasure_platform.subject_requests.forms import (
    ExtendForm,
    GrantForm,
    RecordsExportForm,
    RefuseForm,
    ReopenForm,
    RequestForm,
    VerifyForm,
)
from erasure_platform.subject_requests.grounds import grounds_for
from erasure_platform.subject_requests.models import Channel, RequestStatus

STAFF_READ = (Role.OFFICER, Role.AUDITOR)


def link_base(request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def private(response):
    """Owner pages carry a secret in their URL: never cache them. (The site-wide same-origin
    Referrer-Policy keeps the URL from other sites; "no-referrer" would make browsers send
    "Origin: null" on the page's own forms, which CSRF protection rightly rejects.)"""
    response["Cache-Control"] = "no-store"
    return response


def apply_service_error(form, error: ApplicationError) -> None:
    placed = False
    for field, problems in (error.details or {}).items():
        if field in form.fields and isinstance(problems, list):
            for problem in problems:
                form.add_error(field, str(problem))
            placed = True
    if not placed:
        form.add_error(None, error.message)


def too_many(wait: float) -> str:
    return f"Too many attempts from your address; try again in {int(wait) + 1} seconds."


def _owner_request(token: str):
    try:
        return selectors.request_get_by_token(token=token)
    except NotFound:
        raise Http404(selectors.NOT_FOUND_MESSAGE) from None


# ---- owners -------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def request_new(request):
    form = RequestForm(request.POST or None)
    wait = throttle_wait(request, IntakeThrottle) if request.method == "POST" else None
    if wait is not None:
        form.is_valid()  # keep what was typed; the limit, not the input, is the problem
        form.add_error(None, too_many(wait))
        return render(request, "subject_requests/new.html", {"form": form}, status=429)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            _, token = services.request_create(
                identifier=data["identifier"],
                jurisdiction=data["jurisdiction"],
                channel=Channel.PORTAL,
                scope_type=data["scope_type"],
                record_ids=data["record_id_list"],
                contact_email=data.get("contact_email") or None,
                message=data.get("message", ""),
                link_base=link_base(request),
            )
        except ApplicationError as error:
            apply_service_error(form, error)
        else:
            messages.success(
                request, "We received your request. Keep this page's address: it is your private status link."
            )
            return private(redirect("subject_requests:status", token=token))
    return render(request, "subject_requests/new.html", {"form": form}, status=400 if form.errors else 200)


def request_status(request, token: str):
    erasure_request = _owner_request(token)
    view = selectors.request_owner_view(erasure_request=erasure_request)
    return private(render(request, "subject_requests/status.html", {"r": view, "token": token}))


@require_http_methods(["GET", "POST"])
def request_verify(request, token: str):
    erasure_request = _owner_request(token)
    if erasure_request.status != RequestStatus.SUBMITTED:
        return private(redirect("subject_requests:status", token=token))
    form = VerifyForm(request.POST or None)
    wait = throttle_wait(request, VerifyThrottle) if request.method == "POST" else None
    if wait is not None:
        form.is_valid()
        form.add_error(None, too_many(wait))
        return private(
            render(
                request,
                "subject_requests/verify.html",
                {"form": form, "token": token, "reference": erasure_request.reference},
                status=429,
            )
        )
    if request.method == "POST" and form.is_valid():
        try:
            services.request_verify_identity(erasure_request=erasure_request, code=form.cleaned_data["code"])
        except ApplicationError as error:
            form.add_error("code", error.message)
        else:
            messages.success(request, "Thank you: your identifier is confirmed.")
            return private(redirect("subject_requests:status", token=token))
    return private(
        render(
            request,
            "subject_requests/verify.html",
            {"form": form, "token": token, "reference": erasure_request.reference},
            status=400 if form.errors else 200,
        )
    )


@require_POST
def request_resend(request, token: str):
    erasure_request = _owner_request(token)
    wait = throttle_wait(request, VerifyThrottle)
    if wait is not None:
        messages.error(request, too_many(wait))
        return private(redirect("subject_requests:verify", token=token))
    try:
        services.request_resend_code(erasure_request=erasure_request, link_base=link_base(request), token=token)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "We sent you a new code. The previous one no longer works.")
    return private(redirect("subject_requests:verify", token=token))


# ---- staff --------------------------------------------------------------------------------------


@role_required(*STAFF_READ)
def queue(request):
    status = request.GET.get("status") or None
    if status not in RequestStatus.values:
        status = None
    rows = selectors.request_queue(status=status, include_closed=bool(status))
    items = [{"r": row, "clock": selectors.request_clock(row)} for row in rows[:500]]
    return render(
        request,
        "subject_requests/queue.html",
        {
            "items": items,
            "status": status,
            "statuses": RequestStatus.choices,
        },
    )


def _detail_context(request, erasure_request, **forms):
    clock = selectors.request_clock(erasure_request)
    is_officer = Role.OFFICER in user_roles(request.user)
    actions = selectors.request_available_actions(erasure_request=erasure_request, clock=clock)
    context = {
        "actions": actions,
        "shown_forms": {f"{action}_form" for action in actions},
        "r": erasure_request,
        "clock": clock,
        "is_officer": is_officer,
        "timeline": selectors.request_timeline(erasure_request=erasure_request, for_owner=False),
        "time_to_compliance": selectors.request_time_to_compliance(erasure_request=erasure_request),
        "message": selectors.request_message(erasure_request=erasure_request),
        "prior_erasures": selectors.request_prior_erasures(erasure_request=erasure_request),
        "grant_form": forms.get("grant_form") or GrantForm(),
        "refuse_form": forms.get("refuse_form") or RefuseForm(grounds=grounds_for(erasure_request.jurisdiction)),
        "extend_form": forms.get("extend_form")
        or ExtendForm(maximum=clock["max_extension"], unit=clock["extension_unit"]),
        "reopen_form": forms.get("reopen_form") or ReopenForm(),
        "action_error": forms.get("action_error"),
        "failed_action": forms.get("failed_action"),
    }
    return context


@role_required(*STAFF_READ)
def detail(request, request_id):
    erasure_request = _staff_request(request_id)
    return render(request, "subject_requests/detail.html", _detail_context(request, erasure_request))


def _staff_request(request_id):
    try:
        return selectors.request_get(request_id=request_id)
    except NotFound:
        raise Http404("no such request") from None


def _officer_action(form_name, make_form, perform, success_message):
    @role_required(Role.OFFICER)
    @require_POST
    def view(request, request_id):
        erasure_request = _staff_request(request_id)
        form = make_form(request.POST, erasure_request)
        error = None
        status = 400
        if form.is_valid():
            try:
                perform(request, erasure_request, form.cleaned_data)
            except ApplicationError as service_error:
                error = service_error.message
                status = service_error.status
                apply_service_error(form, service_error)
            else:
                messages.success(request, success_message)
                return redirect("subject_requests:detail", request_id=erasure_request.id)
        erasure_request.refresh_from_db()
        context = _detail_context(
            request, erasure_request, **{form_name: form, "action_error": error, "failed_action": form_name}
        )
        return render(request, "subject_requests/detail.html", context, status=status)

    return view


def _clock_of(erasure_request):
    return selectors.request_clock(erasure_request)


grant = _officer_action(
    "grant_form",
    lambda data, r: GrantForm(data),
    lambda request, r, d: services.request_grant(erasure_request=r, officer=request.user, reason=d.get("reason", "")),
    "Request granted: erasure has started.",
)
refuse = _officer_action(
    "refuse_form",
    lambda data, r: RefuseForm(data, grounds=grounds_for(r.jurisdiction)),
    lambda request, r, d: services.request_refuse(
        erasure_request=r, officer=request.user, ground=d["ground"], reason=d["reason"]
    ),
    "Request refused; the owner has been told why.",
)
extend = _officer_action(
    "extend_form",
    lambda data, r: ExtendForm(data, maximum=_clock_of(r)["max_extension"], unit=_clock_of(r)["extension_unit"]),
    lambda request, r, d: services.request_extend(
        erasure_request=r, officer=request.user, reason=d["reason"], extension=d["extension"]
    ),
    "Deadline extended; the owner has been told why.",
)
reopen = _officer_action(
    "reopen_form",
    lambda data, r: ReopenForm(data),
    lambda request, r, d: services.request_reopen(erasure_request=r, officer=request.user, reason=d["reason"]),
    "Request reopened.",
)


@role_required(Role.OFFICER)
@require_POST
def purge_contact(request, request_id):
    erasure_request = _staff_request(request_id)
    try:
        services.request_purge_contact(erasure_request=erasure_request, actor=f"user:{request.user.username}")
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Contact details purged.")
    return redirect("subject_requests:detail", request_id=erasure_request.id)


@role_required(*STAFF_READ)
def dashboard(request):
    figures = selectors.dashboard_figures()
    status_labels = dict(RequestStatus.choices)
    context = {
        "f": figures,
        "status_rows": [(status_labels[key], value) for key, value in figures["by_status"].items()],
        "status_chart": charts.bar_chart_svg(
            title="Requests by status", data={key: value for key, value in figures["by_status"].items()}
        ),
        "jurisdiction_chart": charts.bar_chart_svg(title="Requests by jurisdiction", data=figures["by_jurisdiction"]),
        "sla_chart": charts.bar_chart_svg(
            title="Open requests by deadline",
            data={
                "overdue": figures["overdue"],
                "due this week": figures["due_this_week"],
                "later": figures["open"] - figures["overdue"] - figures["due_this_week"],
            },
        ),
    }
    return render(request, "subject_requests/dashboard.html", context)


@role_required(*STAFF_READ)
def records(request):
    """The CCPA §7101 request records for a period, downloaded as CSV or JSON."""
    form = RecordsExportForm(request.GET or None)
    if form.is_bound and form.is_valid() and form.cleaned_data["file_format"]:
        try:
            start, end = exports.records_period(
                start=form.cleaned_data["start"], end=form.cleaned_data["end"], today=timezone.localdate()
            )
            content, media_type, name = exports.records_file(
                start=start, end=end, file_format=form.cleaned_data["file_format"]
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            response = HttpResponse(content, content_type=media_type)
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
    return render(
        request, "subject_requests/records.html", {"form": form}, status=400 if form.is_bound and form.errors else 200
    )
