"""gunicorn reads this file by itself when started from the checkout: the
settings are in ``kudos_gunicorn.py`` (``-c python:kudos_gunicorn`` elsewhere)."""

from kudos_gunicorn import child_exit, on_exit, on_starting  # noqa: F401
