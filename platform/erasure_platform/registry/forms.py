"""Portal forms of the registry. The approximate-method form is built from the engine's declared
parameters (type, default, bounds), so the portal offers exactly what the engine accepts."""

from __future__ import annotations

from django import forms

from erasure_platform.core import engine

_FIELD_BY_TYPE = {float: forms.FloatField, int: forms.IntegerField}


def method_choices() -> list[tuple[str, str]]:
    return [(name, f"{name.replace('_', ' ')} — {spec.summary}") for name, spec in engine.available_methods().items()]


class ApproximateMethodForm(forms.Form):
    """The model's approximate method and its parameters; fields follow the chosen method."""

    method = forms.ChoiceField(label="Method", choices=method_choices)

    def __init__(self, *args, method: str, initial_params: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["method"].initial = method
        spec = engine.available_methods().get(method)
        self.param_names: list[str] = []
        for param in spec.params if spec else ():
            initial = (initial_params or {}).get(param.name, param.default)
            name = f"param_{param.name}"
            label = param.name.replace("_", " ").capitalize()
            if param.choices:
                field = forms.ChoiceField(label=label, choices=[(c, c) for c in param.choices], initial=initial)
            elif param.type is bool:
                field = forms.BooleanField(label=label, required=False, initial=initial)
            elif param.type in _FIELD_BY_TYPE:
                bounds = {
                    key: value
                    for key, value in (("min_value", param.minimum), ("max_value", param.maximum))
                    if value is not None
                }
                field = _FIELD_BY_TYPE[param.type](label=label, initial=initial, **bounds)
            else:
                field = forms.CharField(label=label, initial=initial, max_length=200)
            field.help_text = f"{param.help} (default {param.default})"
            self.fields[name] = field
            self.param_names.append(param.name)

    def params(self) -> dict:
        return {name: self.cleaned_data[f"param_{name}"] for name in self.param_names}


SPEC_EXAMPLE = """{
  "subject": {"column": "email", "kind": "email"},
  "record_id": {"column": "ticket_id"},
  "text": "{subject_line}\\n\\n{body}",
  "metadata": ["created_at"],
  "on_erase": {"action": "delete"}
}"""


class DatasetImportForm(forms.Form):
    """Where a team's records come from and how each row becomes a record. Only sources the
    operator allowed: a location under the import roots, or a named PostgreSQL source."""

    SOURCE_KINDS = [("location", "Files (a file, a folder or an s3:// prefix)"), ("postgres", "PostgreSQL")]

    source_kind = forms.ChoiceField(label="Source", choices=SOURCE_KINDS, initial="location", widget=forms.RadioSelect)
    location = forms.CharField(
        label="Location", required=False, max_length=1000, help_text="A CSV, JSONL or Parquet file, or a folder of them"
    )
    postgres = forms.ChoiceField(label="PostgreSQL source", required=False, choices=())
    table = forms.CharField(label="Table", required=False, max_length=200, help_text="schema.table or table")
    query = forms.CharField(
        label="Or a query", required=False, max_length=10_000, widget=forms.Textarea(attrs={"rows": 3})
    )
    spec = forms.CharField(
        label="Dataset spec (JSON or YAML)",
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 9, "spellcheck": "false"}),
        initial=SPEC_EXAMPLE,
        help_text="Which column identifies the person, the record id, the text template or features and label",
    )
    spec_file = forms.FileField(label="Or upload the spec", required=False)
    shards = forms.IntegerField(
        label="Shards", required=False, min_value=1, max_value=256, help_text="New datasets only"
    )
    slices = forms.IntegerField(label="Slices per shard", required=False, min_value=1, max_value=256)
    skip_invalid = forms.BooleanField(
        label="Leave refused rows out (listed) instead of refusing the import", required=False
    )

    def __init__(self, *args, postgres_sources: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["postgres"].choices = [("", "—")] + [(name, name) for name in postgres_sources]

    def clean(self):
        data = super().clean()
        upload = data.get("spec_file")
        if upload is not None:
            try:
                data["spec"] = upload.read(20_001).decode("utf-8-sig")
            except UnicodeDecodeError:
                self.add_error("spec_file", "the spec file must be UTF-8 text (JSON or YAML)")
        if not (data.get("spec") or "").strip():
            self.add_error("spec", "give the dataset spec, typed here or uploaded")
        return data

    def source(self) -> dict:
        """The source as the import services take it (they check it: roots, named sources)."""
        data = self.cleaned_data
        if data["source_kind"] == "postgres":
            return {
                "postgres": data.get("postgres") or "",
                "table": (data.get("table") or "").strip() or None,
                "query": (data.get("query") or "").strip() or None,
            }
        return {"location": data.get("location") or ""}
