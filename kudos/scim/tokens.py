"""The provisioning client's bearer tokens: made with ``kudos scim token
create`` (shown once, stored as a SHA-256 hash), revocable, and good for
``/scim/v2`` only. Personal API tokens open nothing there, and these open
nothing else: they belong to no person.

A provisioning token does not expire unless asked to (``--days``): a token
that lapses silently stops deprovisioning, and leavers keep their access.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kudos.audit.services import record
from kudos.scim.models import ScimToken

TOKEN_PREFIX = "kudos_scim_"  # noqa: S105 - a label, not a secret
NAME_MAX_LENGTH = 100
LAST_USED_PRECISION = timedelta(minutes=1)


class ScimTokenRejected(Exception):
    pass


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_token(
    session: Session, name: str, *, now: datetime, days: int | None = None
) -> tuple[ScimToken, str]:
    """A new provisioning token; returns it and its plaintext (shown once). Flushes."""
    name = " ".join((name or "").split())
    if not name:
        raise ScimTokenRejected("Give the token a name, e.g. the identity provider that uses it.")
    if len(name) > NAME_MAX_LENGTH:
        raise ScimTokenRejected(f"Keep the name under {NAME_MAX_LENGTH} characters.")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ScimToken(
        name=name,
        token_hash=hash_token(raw),
        prefix=raw[: len(TOKEN_PREFIX) + 4],
        created_at=now,
        expires_at=now + timedelta(days=days) if days else None,
    )
    session.add(token)
    session.flush()
    record(
        session,
        None,
        "scim.token_created",
        target_type="scim_token",
        target_id=token.id,
        details={"name": name, "expires_at": token.expires_at and token.expires_at.isoformat()},
    )
    return token, raw


def authenticate(session: Session, raw: str, *, now: datetime) -> ScimToken | None:
    """The live token ``raw`` is, or None (wrong, revoked or expired). Its
    last use is written at most once a minute, in ``session``'s transaction."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = session.scalar(select(ScimToken).where(ScimToken.token_hash == hash_token(raw)))
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        session.execute(
            update(ScimToken).where(ScimToken.id == token.id).values(last_used_at=now),
            execution_options={"synchronize_session": False},
        )
    return token


def all_tokens(session: Session) -> list[ScimToken]:
    return list(session.scalars(select(ScimToken).order_by(ScimToken.id)))


def revoke_token(session: Session, token_id: int, *, now: datetime) -> ScimToken | None:
    """Revoke a token (at once: the next request with it gets 401); None
    when there is no such token."""
    token = session.get(ScimToken, token_id)
    if token is None:
        return None
    if token.revoked_at is None:
        token.revoked_at = now
        record(session, None, "scim.token_revoked", target_type="scim_token", target_id=token.id)
        session.flush()
    return token
