"""Server-rendered SVG bar charts (no JavaScript): accessible with a title and a text table beside them."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


def bar_chart_svg(*, title: str, data: dict[str, int | float], width: int = 420, bar_height: int = 22) -> SafeString:
    labels = list(data)
    values = [float(data[label]) for label in labels]
    top = max(values, default=0) or 1.0
    label_width, value_width, gap = 130, 40, 6
    plot_width = width - label_width - value_width
    height = max(1, len(labels)) * (bar_height + gap) + 10
    summary = ", ".join(f"{label}: {data[label]}" for label in labels)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-label="{escape(title)}: {escape(summary)}">',
        f"<title>{escape(title)}</title>",
    ]
    for index, (label, value) in enumerate(zip(labels, values)):
        y = 5 + index * (bar_height + gap)
        bar = 0 if value <= 0 else max(2, int(plot_width * value / top))
        parts.append(
            f'<text x="{label_width - 6}" y="{y + bar_height * 0.7:.0f}" text-anchor="end" font-size="13">{escape(label)}</text>'
        )
        parts.append(f'<rect x="{label_width}" y="{y}" width="{bar}" height="{bar_height}" fill="#1f5fbf"></rect>')
        shown = int(value) if value == int(value) else round(value, 1)
        parts.append(f'<text x="{label_width + bar + 6}" y="{y + bar_height * 0.7:.0f}" font-size="13">{shown}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))
