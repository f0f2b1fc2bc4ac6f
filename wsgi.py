"""Entry point for production servers: ``gunicorn wsgi:app``.

Configuration comes from the ``KUDOS_*`` environment variables (README).
Run ``kudos db upgrade`` before starting a new version; the app never
migrates on its own.
"""

from kudos import create_app

app = create_app()
