"""Small text helpers."""

from __future__ import annotations

import re
import unicodedata


def slugify(text: str, max_length: int = 120) -> str:
    """ "Customer Success & Ops" -> "customer-success-ops", "Équipe" -> "equipe":
    ASCII where the name has Latin letters. A name with none (Arabic,
    Hebrew, Chinese...) keeps its own letters, "فريق الدعم" -> "فريق-الدعم",
    rather than losing its address; URLs carry it percent-encoded."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if not slug:
        folded = unicodedata.normalize("NFKC", text).casefold()
        slug = re.sub(r"[\W_]+", "-", folded).strip("-")
    return slug[:max_length].rstrip("-")


# C0 control characters (NUL, CR, LF, TAB, ...) and DEL. None belongs in a
# name, an e-mail address or a team: stored, they could end up in an e-mail
# header, a log line or a CSV export.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def has_control_characters(text: str) -> bool:
    return bool(CONTROL_CHARACTERS.search(text))


# Control characters (Unicode category Cc) and the line and paragraph
# separators: everything Python's str.splitlines() or a mail or log reader
# could take for the end of a line.
LINE_BREAKING = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def one_line(text: str) -> str:
    """``text`` fit for one header or log line: each run of control
    characters or line breaks (CR, LF, but also U+2028, U+0085, ...)
    becomes one space, so nothing can start a new line."""
    return LINE_BREAKING.sub(" ", text)
