"""The dataset spec: how a row of a team's source becomes a record.

    {"subject": {"column": "email", "kind": "email"},
     "record_id": {"column": "ticket_id"},               optional: else a keyed hash of the row
     "text": "{subject_line}\\n\\n{body}",                 language data: a template over columns, or
     "features": ["age", "balance"], "label": "churned", tabular data
     "metadata": ["created_at"],                         optional, copied into content as is
     "on_erase": {"action": "delete"}}                   or {"action": "mask", "columns": {...}}

Validated whole before a row is read: unknown keys, wrong types and a template that names no
column are refused with the path of the fault (`on_erase.columns`), never guessed around."""

from __future__ import annotations

import functools
import json
import string
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from erasure_engine.errors import InvalidInput

# Kinds of identifier a subject column may hold. An identity map ties kinds together (an
# e-mail to a customer id); the kind never changes the key: intake hashes what the person typed.
IDENTIFIER_KINDS = ("email", "customer_id", "user_id", "account_id", "phone")
ERASE_ACTIONS = ("delete", "mask")
SPEC_KEYS = {"subject", "record_id", "text", "features", "label", "metadata", "on_erase"}
COLUMN_NAME_LIMIT = 128


class SpecError(InvalidInput):
    code = "invalid_spec"


def spec_column(value, where: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > COLUMN_NAME_LIMIT:
        raise SpecError(f"{where} must name a column (a non-empty string of at most {COLUMN_NAME_LIMIT} characters)")
    return value


def spec_object(value, where: str, allowed: set[str], required: set[str] = frozenset()) -> dict:
    if not isinstance(value, dict):
        raise SpecError(f"{where} must be an object")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise SpecError(f"{where} has unknown keys: {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")
    missing = sorted(required - set(value))
    if missing:
        raise SpecError(f"{where} lacks {', '.join(missing)}")
    return value


def template_columns(template: str) -> tuple[str, ...]:
    """The columns a text template names, in order of first use. Only plain `{column}` fields:
    attribute access, indexing, conversions and format specs are refused (a template is data, not code)."""
    names: list[str] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise SpecError(f"text template is malformed: {error}") from None
    for _literal, name, format_spec, conversion in parsed:
        if name is None:
            continue
        if not name or any(mark in name for mark in ".[]") or format_spec or conversion:
            raise SpecError(f"text template field {{{name}}} must be a plain column name, like {{body}}")
        if name not in names:
            names.append(name)
    if not names:
        raise SpecError("text template names no column: write it as e.g. '{subject_line}\\n\\n{body}'")
    return tuple(names)


@dataclass(frozen=True)
class OnErase:
    """What erasure does to the source rows of an erased subject (PostgreSQL sources)."""

    action: str = "delete"
    columns: dict = field(default_factory=dict)  # mask: column -> replacement (None is SQL NULL)
    table: str | None = None  # where to erase, when the source is a query; else the source table
    key_column: str | None = None  # the table's column holding the record id; else record_id.column

    def to_dict(self) -> dict:
        return {
            "action": self.action,
            "columns": dict(self.columns),
            "table": self.table,
            "key_column": self.key_column,
        }


@dataclass(frozen=True)
class DatasetSpec:
    subject_column: str
    subject_kind: str
    record_id_column: str | None = None
    text_template: str | None = None
    features: tuple[str, ...] = ()
    label: str | None = None
    metadata: tuple[str, ...] = ()
    on_erase: OnErase = field(default_factory=OnErase)

    @property
    def is_text(self) -> bool:
        return self.text_template is not None

    @functools.cached_property
    def text_columns(self) -> tuple[str, ...]:
        return template_columns(self.text_template) if self.text_template is not None else ()

    @functools.cached_property
    def content_columns(self) -> tuple[str, ...]:
        """Columns whose values reach the object store (the identifier column never does)."""
        ordered = [*self.text_columns, *self.features, *([self.label] if self.label else []), *self.metadata]
        if self.record_id_column:
            ordered.append(self.record_id_column)
        return tuple(dict.fromkeys(ordered))

    @functools.cached_property
    def columns(self) -> tuple[str, ...]:
        """Every column the import reads; nothing else is read from the source."""
        return tuple(dict.fromkeys([self.subject_column, *self.content_columns]))

    @classmethod
    def from_dict(cls, data) -> DatasetSpec:
        data = spec_object(data, "the spec", SPEC_KEYS, {"subject"})
        subject = spec_object(data["subject"], "subject", {"column", "kind"}, {"column", "kind"})
        subject_column = spec_column(subject["column"], "subject.column")
        if subject["kind"] not in IDENTIFIER_KINDS:
            raise SpecError(f"subject.kind must be one of {', '.join(IDENTIFIER_KINDS)}, not {subject['kind']!r}")
        record_id_column = None
        if data.get("record_id") is not None:
            record_id = spec_object(data["record_id"], "record_id", {"column"}, {"column"})
            record_id_column = spec_column(record_id["column"], "record_id.column")
            if record_id_column == subject_column:
                raise SpecError("record_id.column must not be the subject's identifier column: ids are stored")
        text = data.get("text")
        has_tabular = "features" in data or "label" in data
        if (text is None) == (not has_tabular):
            raise SpecError("give either a text template (language data) or features and label (tabular data)")
        features: tuple[str, ...] = ()
        label = None
        if text is not None:
            if not isinstance(text, str) or len(text) > 10_000:
                raise SpecError("text must be a template string (at most 10,000 characters)")
            template_columns(text)
        else:
            raw = data.get("features")
            if not isinstance(raw, list) or not raw:
                raise SpecError("features must be a non-empty list of columns")
            features = tuple(spec_column(name, f"features[{i}]") for i, name in enumerate(raw))
            if len(set(features)) != len(features):
                raise SpecError("features names a column twice")
            label = spec_column(data.get("label"), "label")
        metadata_raw = data.get("metadata", [])
        if not isinstance(metadata_raw, list):
            raise SpecError("metadata must be a list of columns")
        metadata = tuple(spec_column(name, f"metadata[{i}]") for i, name in enumerate(metadata_raw))
        spec = cls(
            subject_column=subject_column,
            subject_kind=subject["kind"],
            record_id_column=record_id_column,
            text_template=text,
            features=features,
            label=label,
            metadata=metadata,
            on_erase=_on_erase(data.get("on_erase", {"action": "delete"})),
        )
        if subject_column in spec.content_columns:
            raise SpecError(
                f"the identifier column {subject_column!r} may not also be text, a feature, the label or metadata: "
                "identifiers never reach the object store"
            )
        return spec

    def to_dict(self) -> dict:
        data: dict = {"subject": {"column": self.subject_column, "kind": self.subject_kind}}
        if self.record_id_column:
            data["record_id"] = {"column": self.record_id_column}
        if self.is_text:
            data["text"] = self.text_template
        else:
            data["features"] = list(self.features)
            data["label"] = self.label
        if self.metadata:
            data["metadata"] = list(self.metadata)
        data["on_erase"] = {k: v for k, v in self.on_erase.to_dict().items() if v not in (None, {})}
        return data


def _on_erase(value) -> OnErase:
    value = spec_object(value, "on_erase", {"action", "columns", "table", "key_column"}, {"action"})
    if value["action"] not in ERASE_ACTIONS:
        raise SpecError(f"on_erase.action must be one of {', '.join(ERASE_ACTIONS)}, not {value['action']!r}")
    columns = value.get("columns", {})
    if value["action"] == "mask":
        if not isinstance(columns, dict) or not columns:
            raise SpecError("on_erase.columns must map each column to mask to its replacement (a string or null)")
        for name, replacement in columns.items():
            spec_column(name, "on_erase.columns")
            if replacement is not None and not isinstance(replacement, str | int | float):
                raise SpecError(f"on_erase.columns.{name} must be a string, a number or null")
    elif columns:
        raise SpecError("on_erase.columns applies to the mask action only")
    table = value.get("table")
    key_column = value.get("key_column")
    return OnErase(
        action=value["action"],
        columns=dict(columns),
        table=spec_column(table, "on_erase.table") if table is not None else None,
        key_column=spec_column(key_column, "on_erase.key_column") if key_column is not None else None,
    )


def parse_spec_text(text: str, spec_type=DatasetSpec):
    """A spec (a DatasetSpec, or `spec_type`: an IdentityMapSpec) from JSON or YAML text (YAML is
    a superset; both are read by the safe loader)."""
    if not isinstance(text, str) or not text.strip():
        raise SpecError("the spec is empty")
    try:
        data = json.loads(text)
    except ValueError:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise SpecError(f"the spec is neither JSON nor YAML: {error}") from None
    return spec_type.from_dict(data)


def load_spec(path: str | Path, spec_type=DatasetSpec):
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError(f"cannot read the spec {path}: {error}") from None
    return parse_spec_text(text, spec_type)
