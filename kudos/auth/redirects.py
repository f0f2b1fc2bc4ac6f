"""Redirect targets taken from requests must stay on this site."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request, url_for


def is_local_path(target: str) -> bool:
    """True for "/feed?x=1"; False for "//evil.example", "https://…", "\\\\host"."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return False
    if any(ch in target for ch in "\r\n\t\\"):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next_url(default_endpoint: str = "recognition.company_feed") -> str:
    target = request.values.get("next", "")
    return target if is_local_path(target) else url_for(default_endpoint)
