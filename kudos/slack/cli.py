"""``kudos slack …``: the app's manifest, and Socket Mode."""

from __future__ import annotations

from importlib import resources

import click
from flask import current_app
from flask.cli import AppGroup

from kudos.cli import needs_database
from kudos.urls import base_url

slack_cli = AppGroup("slack", help="The Slack app.")


def manifest() -> str:
    """The app's manifest with this site's address in its request URLs."""
    template = resources.files("kudos.slack").joinpath("manifest.yml").read_text("utf-8")
    return template.replace("https://kudos.example.com", base_url())


@slack_cli.command("manifest")
def manifest_command() -> None:
    """Print the manifest to create the app from (api.slack.com/apps)."""
    click.echo(manifest(), nl=False)


@slack_cli.command("run")
@needs_database()
def run_command() -> None:
    """Answer Slack over Socket Mode, for a site Slack can't reach."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    config = current_app.config
    if not config.get("SLACK_ENABLED"):
        raise click.ClickException(
            "Slack is not connected: set KUDOS_SLACK_BOT_TOKEN, KUDOS_SLACK_SIGNING_SECRET "
            "and KUDOS_SLACK_TEAM_ID"
        )
    if not config.get("SLACK_APP_TOKEN"):
        raise click.ClickException(
            "Socket Mode needs an app-level token: set KUDOS_SLACK_APP_TOKEN (xapp-…)"
        )
    bolt = current_app.extensions["kudos.slack"]
    handler = SocketModeHandler(bolt, config["SLACK_APP_TOKEN"])
    click.echo("Kudos is answering Slack over Socket Mode (Ctrl+C to stop).")
    handler.start()
