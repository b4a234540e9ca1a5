"""What a page shows people must read as words and figures: no raw dicts, identifiers (UUIDs),
underscore slugs or floats with more than four decimals. Shared by the page tests and the browser tests."""

from __future__ import annotations

import re
from html.parser import HTMLParser

UNREADABLE = {
    "raw dict": re.compile(r"[{}]"),
    "UUID": re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE),
    "underscore slug": re.compile(r"\b[A-Za-z0-9]+(?:_[A-Za-z0-9]+)+\b"),
    "float with more than 4 decimals": re.compile(r"\d\.\d{5,}"),
}


def unreadable(text: str) -> list[str]:
    """Each thing in `text` people should not have to read, named: ["UUID: 6f1b…", …]."""
    return [f"{name}: {match}" for name, pattern in UNREADABLE.items() for match in pattern.findall(text)]


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts, self.inside_main, self.skip = [], False, 0

    def handle_starttag(self, tag, attrs):
        self.inside_main |= tag == "main"
        self.skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self.inside_main &= tag != "main"
        self.skip -= tag in ("script", "style")

    def handle_data(self, data):
        if self.inside_main and not self.skip:
            self.parts.append(data)


def main_text(html: str) -> str:
    """The visible text of a page's <main> (attributes such as links are not text)."""
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())
