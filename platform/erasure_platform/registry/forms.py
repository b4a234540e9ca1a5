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
