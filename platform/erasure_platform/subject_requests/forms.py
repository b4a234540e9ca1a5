"""Portal forms: shape and presence checks only; the services hold the rules."""

from __future__ import annotations

from django import forms
from django.core.validators import MaxValueValidator

from erasure_platform.subject_requests.models import Jurisdiction, ScopeType


def split_record_ids(text: str) -> list[str]:
    return [part.strip() for line in (text or "").splitlines() for part in line.split(",") if part.strip()]


class RequestForm(forms.Form):
    identifier = forms.CharField(
        label="Your e-mail address or customer id",
        max_length=254,
        help_text="The identifier we know you by. We send a one-time code to it (or to your contact address for a customer id).",
        widget=forms.TextInput(attrs={"autocomplete": "email"}),
    )
    scope_type = forms.ChoiceField(
        label="What should we erase?", choices=ScopeType.choices, initial=ScopeType.ALL, widget=forms.RadioSelect
    )
    record_ids = forms.CharField(
        label="Record ids (only if you chose named records)",
        required=False,
        help_text="One per line, or separated by commas.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    jurisdiction = forms.ChoiceField(
        label="Which law applies to you?", choices=Jurisdiction.choices, initial=Jurisdiction.GDPR
    )
    contact_email = forms.EmailField(
        label="Contact e-mail (optional for an e-mail identifier)",
        required=False,
        max_length=254,
        help_text="Where we send our answer. Defaults to your e-mail identifier.",
    )
    message = forms.CharField(
        label="Message (optional)", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean(self):
        data = super().clean()
        ids = split_record_ids(data.get("record_ids", ""))
        if data.get("scope_type") == ScopeType.RECORDS and not ids:
            self.add_error("record_ids", "Name at least one record id, or choose to erase everything.")
        if data.get("scope_type") == ScopeType.ALL and ids:
            self.add_error("record_ids", "Leave this empty when asking to erase everything.")
        data["record_id_list"] = ids
        return data


class VerifyForm(forms.Form):
    code = forms.RegexField(
        label="One-time code",
        regex=r"^\s*\d{6}\s*$",
        max_length=12,
        error_messages={"invalid": "The code has six digits."},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class _ActionForm(forms.Form):
    """Several action forms share one page: each gets its own element ids (labels stay unambiguous)."""

    id_prefix = "action"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


class GrantForm(_ActionForm):
    id_prefix = "grant"
    reason = forms.CharField(
        label="Note (optional)", required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )


class RefuseForm(_ActionForm):
    id_prefix = "refuse"
    ground = forms.ChoiceField(label="Ground for refusal")
    reason = forms.CharField(
        label="Reason (the owner reads this)", min_length=10, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, grounds: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ground"].choices = list(grounds.items())


class ExtendForm(_ActionForm):
    id_prefix = "extend"
    extension = forms.IntegerField(label="Extend by", min_value=1)
    reason = forms.CharField(
        label="Reason (the owner reads this)", min_length=10, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, maximum: int, unit: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["extension"].max_value = maximum
        self.fields["extension"].label = f"Extend by ({unit}, at most {maximum})"
        self.fields["extension"].initial = maximum
        self.fields["extension"].widget.attrs.update({"max": maximum, "min": 1})
        self.fields["extension"].validators.append(MaxValueValidator(maximum))


class ReopenForm(_ActionForm):
    id_prefix = "reopen"
    reason = forms.CharField(
        label="Reason for reopening", min_length=10, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )


class RecordsExportForm(forms.Form):
    start = forms.DateField(
        required=False,
        label="Received from",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Empty: 24 months before the end",
    )
    end = forms.DateField(
        required=False, label="Received until", widget=forms.DateInput(attrs={"type": "date"}), help_text="Empty: today"
    )
    file_format = forms.ChoiceField(choices=[("csv", "CSV"), ("json", "JSON")], required=False)
