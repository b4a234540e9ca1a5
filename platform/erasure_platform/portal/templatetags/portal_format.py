"""Values for people: machine slugs become words, long floats become sensible figures."""

from __future__ import annotations

import math
import re
import uuid

from django import template

register = template.Library()

# Words people know in capitals (or spelt their own way) inside machine names.
WORDS = {
    "auc": "AUC",
    "tpr": "TPR",
    "fpr": "FPR",
    "ks": "KS",
    "kl": "KL",
    "qa": "QA",
    "lm": "LM",
    "lora": "LoRA",
    "sisa": "SISA",
    "rouge_l": "ROUGE-L",
    "min_k": "Min-K%",
    "min_k_plus": "Min-K%++",
    "npo": "NPO",
    "simnpo": "SimNPO",
    "rmu": "RMU",
    "undial": "UNDIAL",
    "privleak": "PrivLeak",
    "lira": "LiRA",
    "mia": "MIA",
    "zlib": "zlib",
    "gdpr": "GDPR",
    "ccpa": "CCPA",
}
BITS = re.compile(r"^(\d+)bit$")
DECIMALS_MAX = 4  # nobody reads a fifth decimal
SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
# In sentences: dotted machine names (`membership.min_k.auc`) and decimals longer than people read.
MACHINE_NAME = re.compile(
    r"(?<![\w.])(?:membership|oracle|extraction|knowledge|utility|[a-z0-9]+_[a-z0-9_]+)(?:\.[a-z0-9_]{2,})+(?![\w.])"
)
LONG_DECIMAL = re.compile(r"(?<![\w.])-?\d+\.\d{5,}(?:e[-+]?\d+)?(?![\w.])")


TERMS = re.compile(r"(?<![a-z])(min_k_plus|min_k|rouge_l)(?![a-z])", re.IGNORECASE)


def _words(text: str) -> str:
    words = []
    # Terms of two words stay one ("min_k" → "Min-K%"); the rest splits on "_", "-" and spaces.
    for chunk in TERMS.split(text.strip()):
        if chunk.lower() in WORDS and "_" in chunk:
            words.append(WORDS[chunk.lower()])
            continue
        for word in re.split(r"[_\-\s]+", chunk):
            if word:
                bits = BITS.match(word.lower())
                words.append(f"{bits.group(1)}-bit" if bits else WORDS.get(word.lower(), word))
    return " ".join(words)


@register.filter
def label(value) -> str:
    """`awaiting_approval` → "Awaiting approval"; `closer_to_target_is_better` → "Closer to target is better";
    dotted metric names read part by part: `utility.retain_accuracy_drop` → "Utility · retain accuracy drop"."""
    if value is None:
        return ""
    parts = [_words(part) for part in str(value).split(".")]
    return " · ".join(part[:1].upper() + part[1:] for part in parts if part)


@register.filter
def figure(value, digits: int = 3):
    """A number rounded to `digits` significant digits, at most four decimals (integers and non-numbers
    pass unchanged; below 0.001 the value is written with its power of ten, 1.23 × 10⁻⁴)."""
    if isinstance(value, bool) or not isinstance(value, float) or not math.isfinite(value):
        return value
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    if -3 <= magnitude < 9:  # plain decimals people read at a glance, thousands separated, no trailing zeros
        decimals = min(DECIMALS_MAX, max(0, int(digits) - 1 - magnitude))
        text = f"{value:,.{decimals}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    mantissa, exponent = f"{value:.{max(0, int(digits) - 1)}e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    return f"{mantissa} × 10{str(int(exponent)).translate(SUPERSCRIPT)}"


def _is_uuid(value) -> bool:
    if isinstance(value, uuid.UUID):
        return True
    try:
        return isinstance(value, str) and len(value) == 36 and str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


@register.filter
def job_label(kind: str) -> str:
    """`orchestration.unlearn` → "Unlearn": the job's own name, without the app that runs it."""
    return label(str(kind).rsplit(".", 1)[-1])


def _value(value) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{label(k)} {_value(v)}" for k, v in value.items()) or "—"
    if isinstance(value, (list, tuple)):
        return ", ".join(_value(v) for v in value) or "—"
    if isinstance(value, float):
        return str(figure(value))
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@register.filter
def details(data) -> str:
    """An audit event's (or a job's) data for people: `{'due_on': '2027-01-01', 'record_count': 0}` →
    "Due on: 2027-01-01 · Record count: 0"; nested values read the same way, identifiers (UUIDs) are left out.
    A sentence keeps its words; machine names and long decimals in it read as the rest of the page."""
    if isinstance(data, str):
        text = MACHINE_NAME.sub(lambda match: label(match.group(0)), data)
        return LONG_DECIMAL.sub(lambda match: str(figure(float(match.group(0)))), text)
    if not isinstance(data, dict):
        return "" if data in (None, "") else _value(data)
    parts = [f"{label(key)}: {_value(value)}" for key, value in data.items() if not _is_uuid(value)]
    return " · ".join(parts) or "—"
