"""``kudos scim token …``: the provisioning client's tokens."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup

from kudos.cli import needs_database
from kudos.db import utcnow
from kudos.extensions import db
from kudos.urls import base_url

scim_cli = AppGroup("scim", help="SCIM provisioning from your identity provider.")
token_cli = AppGroup("token", help="The identity provider's provisioning tokens.")
scim_cli.add_command(token_cli)


def _when(moment: datetime | None, never: str = "never") -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else never


@token_cli.command("create")
@click.argument("name")
@click.option(
    "--days",
    type=click.IntRange(1, 3650),
    help="Days until the token expires (default: never; revoke it by hand).",
)
@needs_database()
def token_create(name: str, days: int | None) -> None:
    """Create a provisioning token named NAME (e.g. "Okta") and print it once."""
    from kudos.scim.tokens import ScimTokenRejected, create_token

    try:
        token, raw = create_token(db.session, name, now=utcnow(), days=days)
    except ScimTokenRejected as rejected:
        raise click.ClickException(str(rejected)) from None
    db.session.commit()
    click.echo(raw)
    click.echo(
        f"Provisioning token {token.id} ({token.name}); it expires "
        f"{_when(token.expires_at)} and is shown only once.\n"
        f"SCIM base URL: {base_url()}/scim/v2",
        err=True,
    )


@token_cli.command("list")
@needs_database()
def token_list() -> None:
    """The provisioning tokens, live and revoked (never the tokens themselves)."""
    from kudos.scim.tokens import all_tokens

    tokens = all_tokens(db.session)
    if not tokens:
        click.echo("No provisioning tokens: kudos scim token create NAME makes one.")
    for token in tokens:
        state = f"revoked {_when(token.revoked_at)}" if token.revoked_at else "live"
        click.echo(
            f"{token.id}\t{token.name}\t{token.prefix}…\t{state}\t"
            f"last used {_when(token.last_used_at)}\texpires {_when(token.expires_at)}"
        )


@token_cli.command("revoke")
@click.argument("token_id", type=int)
@needs_database()
def token_revoke(token_id: int) -> None:
    """Revoke the provisioning token TOKEN_ID (see ``list``), at once."""
    from kudos.scim.tokens import revoke_token

    token = revoke_token(db.session, token_id, now=utcnow())
    if token is None:
        raise click.ClickException(f"No provisioning token has the id {token_id}.")
    db.session.commit()
    click.echo(f"Provisioning token {token.id} ({token.name}) is revoked.")


@scim_cli.command("release")
@click.option("--force", is_flag=True, help="Release even while a provisioning token is live.")
@needs_database()
def release(force: bool) -> None:
    """Hand the fields SCIM set back to the import, sign-in and the console
    (after you stop provisioning)."""
    from kudos.scim.provisioning import release_fields
    from kudos.scim.tokens import all_tokens

    now = utcnow()
    live = [
        token
        for token in all_tokens(db.session)
        if token.revoked_at is None and (token.expires_at is None or token.expires_at > now)
    ]
    if live and not force:
        raise click.ClickException(
            f"{len(live)} provisioning token(s) still live ({', '.join(t.name for t in live)}): "
            "the provider would take the fields back at its next push. Revoke them first "
            "(kudos scim token revoke ID), or pass --force."
        )
    people, fields = release_fields(db.session)
    db.session.commit()
    click.echo(
        f"{fields} fields of {people} people handed back: the next import, sign-in or "
        "admin change may set them."
    )
