"""PDF renderings of evidence (reportlab). The JSON is the evidence; the PDF is its readable twin,
so every figure here is taken from the JSON document, never recomputed."""

from __future__ import annotations

import io
from collections.abc import Iterable
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

_styles = getSampleStyleSheet()
_hash_style = ParagraphStyle("hash", parent=_styles["BodyText"], fontName="Courier", fontSize=7, leading=9)
_small_style = ParagraphStyle("small", parent=_styles["BodyText"], fontSize=7.5, leading=9)
_HEX = set("0123456789abcdef")
WIDE_TABLE_COLUMNS = 6  # past this many columns body text would break inside words: use the small style


def _cell(value, style: ParagraphStyle) -> Paragraph:
    text = str(value)
    # Hashes in a small monospace font so they stay on one line (and copy back intact).
    is_hash = len(text) >= 32 and set(text) <= _HEX
    return Paragraph(escape(text), _hash_style if is_hash else style)


def _table(rows: list[list[str]], widths: list[float] | None = None) -> Table:
    style = _small_style if rows and len(rows[0]) > WIDE_TABLE_COLUMNS else _styles["BodyText"]
    cells = [[_cell(cell, style) for cell in row] for row in rows]
    table = Table(cells, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf5")),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#b8c0cc")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _pairs(pairs: Iterable[tuple[str, object]]) -> Table:
    return _table(
        [["Field", "Value"], *[[label, "—" if value in (None, "") else value] for label, value in pairs]],
        [55 * mm, 115 * mm],
    )


def render_pdf(title: str, sections: list[tuple[str, list]], *, footer: str) -> bytes:
    """sections: (heading, flowables or ("pairs", [...]) / ("table", rows) / ("image", png_bytes) / ("text", str))."""
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, title=title, leftMargin=18 * mm, rightMargin=18 * mm)
    story = [Paragraph(escape(title), _styles["Title"])]
    for heading, parts in sections:
        story.append(Paragraph(escape(heading), _styles["Heading2"]))
        for kind, content in parts:
            if kind == "pairs":
                story.append(_pairs(content))
            elif kind == "table":
                story.append(_table(content))
            elif kind == "image":
                story.append(Image(io.BytesIO(content), width=120 * mm, height=90 * mm))
            else:
                story.append(Paragraph(escape(str(content)), _styles["BodyText"]))
            story.append(Spacer(1, 4 * mm))
    story.append(Paragraph(escape(footer), _styles["Italic"]))
    document.build(story)
    return buffer.getvalue()
