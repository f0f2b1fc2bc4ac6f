"""Log lines that requests cannot forge.

Text from requests (a callback's ``?error=``, a claim, a path) reaches log
messages. A CR or LF in it would start a line that looks like Kudos wrote
it. Every record's message is escaped when the record is made, so each log
call gives exactly one line whatever its arguments hold.

A record factory, not a ``logging.Filter``: a filter on the ``kudos`` logger
misses records of its child loggers, and a filter on handlers misses
handlers added later (gunicorn's, pytest's). Tracebacks are left alone:
they are many lines on purpose.
"""

from __future__ import annotations

import logging
from typing import Any

from kudos.text import LINE_BREAKING


def escape(text: str) -> str:
    """``"a\\r\\nb"`` -> ``"a\\\\r\\\\nb"``: control characters and line
    breaks shown as Python escapes, never acted on."""
    return LINE_BREAKING.sub(lambda found: found.group().encode("unicode_escape").decode(), text)


def _escaping(make_record: Any) -> Any:
    def make_escaped_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return record  # a broken format: logging reports it when the record is handled
        escaped = escape(message)
        if escaped != message:
            record.msg, record.args = escaped, ()
        return record

    make_escaped_record.kudos_escaping = True  # type: ignore[attr-defined]
    return make_escaped_record


def install() -> None:
    """Escape every record made from now on, in this process (idempotent)."""
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "kudos_escaping", False):
        logging.setLogRecordFactory(_escaping(factory))
