"""A JSON parser that refuses hostile bodies before the standard library sees them.

json.loads recurses once per nesting level, so a body of 50,000 '[' raises RecursionError (an
anonymous 500). The depth is measured first, without recursion, and bodies over the size limit
are refused without reading them whole (DRF streams the body past DATA_UPLOAD_MAX_MEMORY_SIZE)."""

from __future__ import annotations

import codecs

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.settings import api_settings
from rest_framework.utils import json  # DRF's: strict_constant refuses NaN and Infinity

from erasure_platform.core.engine import json_nesting_exceeds


class BodyRefused(ParseError):
    default_code = "body_refused"


class BoundedJSONParser(JSONParser):
    """JSONParser with settings.ERASURE_JSON_MAX_BYTES and settings.ERASURE_JSON_MAX_DEPTH."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        limit = settings.ERASURE_JSON_MAX_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise BodyRefused(f"the JSON body is larger than {limit} bytes")
        try:
            text = codecs.decode(raw, encoding)
        except (UnicodeDecodeError, LookupError) as error:
            raise ParseError(
                f"JSON parse error - the body is not {encoding}: {error.reason if hasattr(error, 'reason') else error}"
            )
        if json_nesting_exceeds(text, settings.ERASURE_JSON_MAX_DEPTH):
            raise BodyRefused(f"the JSON body nests deeper than {settings.ERASURE_JSON_MAX_DEPTH} levels")
        try:
            parse_constant = json.strict_constant if api_settings.STRICT_JSON else None
            return json.loads(text, parse_constant=parse_constant)
        except ValueError as error:
            raise ParseError(f"JSON parse error - {error}") from None
        except RecursionError:  # belt and braces: a depth the scan could not see (it cannot happen)
            raise BodyRefused("the JSON body nests too deeply") from None
