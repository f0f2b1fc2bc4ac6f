"""Small text helpers."""

from __future__ import annotations

import re
import unicodedata


def slugify(text: str, max_length: int = 120) -> str:
    """ "Customer Success & Ops" -> "customer-success-ops" (ASCII, URL-safe)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-")


# C0 control characters (NUL, CR, LF, TAB, ...) and DEL. None belongs in a
# name, an e-mail address or a team: stored, they could end up in an e-mail
# header, a log line or a CSV export.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def has_control_characters(text: str) -> bool:
    return bool(CONTROL_CHARACTERS.search(text))


def without_control_characters(text: str) -> str:
    """Each run of control characters becomes one space: "Ana\\r\\nSouza" is "Ana Souza"."""
    return CONTROL_CHARACTERS.sub(" ", text)
