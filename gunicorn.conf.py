"""gunicorn reads this file by itself when started from the checkout: the
settings are in ``kudos/gunicorn.py`` (``-c python:kudos.gunicorn`` elsewhere)."""

from kudos.gunicorn import child_exit, on_exit, on_starting  # noqa: F401
