"""Fields that refuse what they cannot read, where DRF would quietly make something of it.

DRF reads a query string with HTML-form rules: an empty value of an optional field counts as
absent, so `?start=` silently meant "the default"; and its CharField turns a JSON number into a
string. An API says what it did not understand."""

from __future__ import annotations

from rest_framework import serializers


class GivenOrAbsentMixin:
    """An empty value is refused like any other unreadable one, not read as absent."""

    def get_value(self, dictionary):
        if self.field_name in dictionary and dictionary.get(self.field_name) == "":
            return ""
        return super().get_value(dictionary)


class QueryDateField(GivenOrAbsentMixin, serializers.DateField):
    pass


class QueryChoiceField(GivenOrAbsentMixin, serializers.ChoiceField):
    pass


class QueryIntegerField(GivenOrAbsentMixin, serializers.IntegerField):
    pass


class StrictCharField(serializers.CharField):
    """Text that was sent as a JSON string, not a number or boolean turned into one."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
