"""Kudos: self-hosted peer recognition for internal customer service."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter, Map

import config


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the application. Touches no database: migrations are a command."""
    app = Flask(__name__)
    app.config.update(config.load(os.environ, instance_path=app.instance_path))
    if overrides:
        app.config.update(overrides)
    config.check(app.config)
    os.makedirs(app.instance_path, exist_ok=True)

    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_templating(app)
    register_commands(app)
    configure_logging(app)
    return app


def register_extensions(app: Flask) -> None:
    from kudos import cache, metrics, models, ratelimit, security  # noqa: F401 - every model mapped first
    from kudos.auth import oidc, sessions
    from kudos.extensions import csrf, db
    from kudos.recognition import cards
    from kudos.slack import announce  # noqa: F401 - listens to kudos.recognition.events

    db.init_app(app)
    cache.init_app(app)
    cards.init_app(app)
    csrf.init_app(app)
    sessions.init_app(app)
    oidc.init_app(app)
    security.init_app(app)
    ratelimit.init_app(app)
    metrics.init_app(app)


class IdConverter(IntegerConverter):
    """``<id:name>``: a positive 32-bit id; anything else is a 404, not a 500."""

    def __init__(self, url_map: Map) -> None:
        from kudos.db import MAX_ID

        super().__init__(url_map, min=1, max=MAX_ID)


def register_blueprints(app: Flask) -> None:
    app.url_map.converters["id"] = IdConverter
    from kudos import health
    from kudos.admin import bp as admin_bp
    from kudos.api.reference import bp as api_docs_bp
    from kudos.api.views import bp as api_bp
    from kudos.auth.token_views import bp as tokens_bp
    from kudos.auth.views import bp as auth_bp
    from kudos.leaderboard.views import bp as leaderboard_bp
    from kudos.people.views import bp as people_bp
    from kudos.preferences import views as preferences_views
    from kudos.recognition.views import bp as recognition_bp
    from kudos.scim import views as scim_views
    from kudos.slack import app as slack_app
    from kudos.summary.views import bp as summary_bp

    app.register_blueprint(health.bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(tokens_bp)
    app.register_blueprint(recognition_bp)
    app.register_blueprint(people_bp)
    app.register_blueprint(leaderboard_bp)
    app.register_blueprint(summary_bp)
    app.register_blueprint(preferences_views.bp)
    preferences_views.init_app(app)
    app.register_blueprint(admin_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(api_docs_bp)
    scim_views.init_app(app)
    slack_app.init_app(app)
    if app.config.get("DEMO"):
        # Only ``kudos demo`` sets DEMO; no environment variable can.
        from kudos.demo.views import bp as demo_bp

        app.register_blueprint(demo_bp)


def register_errorhandlers(app: Flask) -> None:
    from kudos import errors

    errors.init_app(app)


def register_templating(app: Flask) -> None:
    from kudos import templating

    templating.init_app(app)


def register_commands(app: Flask) -> None:
    from kudos.cli import register

    register(app.cli)


def configure_logging(app: Flask) -> None:
    from kudos import logs

    logs.install()
    logs.init_app(app)  # a request id and one access line per request
    if not app.debug and not app.testing:
        logs.configure(app.config.get("LOG_FORMAT", "text"))
