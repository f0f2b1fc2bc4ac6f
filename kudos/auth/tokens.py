"""Personal API tokens: created once, stored only as a hash, revocable.

A token looks like ``kudos_<random>``; its SHA-256 is stored, so a copy of
the database does not give anyone API access. The first characters are kept
as a prefix so people can tell their tokens apart.

Tokens expire (``KUDOS_API_TOKEN_DAYS``, 90 days by default; "no expiry" is
an explicit choice) and are revoked for good when their owner is
deactivated: reactivating the person does not bring a token back.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kudos.audit.services import Actor, record
from kudos.auth.models import ApiToken
from kudos.auth.sessions import read_token_holder
from kudos.people.events import on_deactivation
from kudos.people.models import Person

TOKEN_PREFIX = "kudos_"  # noqa: S105 - a label, not a secret
NAME_MAX_LENGTH = 100
# Writing last_used_at on every call would turn each read into a write.
LAST_USED_PRECISION = timedelta(minutes=1)
# Lifetimes offered on the tokens page, besides the configured default and
# "no expiry"; the longest anyone may ask for (also on the command line).
LIFETIME_CHOICES = (30, 90, 365)
MAX_LIFETIME_DAYS = 3650


def expiry_for(days: int | None, *, now: datetime) -> datetime | None:
    """When a token made ``now`` for ``days`` days expires (None: never)."""
    return None if days is None else now + timedelta(days=days)


class TokenExpired(Exception):
    """A real token whose time is up: told apart from a wrong one, so its
    owner knows to make a new one rather than to look for a typo."""

    def __init__(self, expires_at: datetime) -> None:
        self.expires_at = expires_at
        super().__init__(f"expired at {expires_at.isoformat()}")


class TokenRejected(Exception):
    def __init__(self, fields: dict[str, str]) -> None:
        self.fields = fields
        super().__init__("; ".join(fields.values()))


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_token(
    session: Session,
    person: Person,
    name: str,
    *,
    now: datetime,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """A new token for ``person``; returns the model and the plaintext, which
    is shown once and never stored. Flushes."""
    if not person.active:
        raise TokenRejected({"person": f"{person.email} is deactivated."})
    name = (name or "").strip()
    if not name:
        raise TokenRejected({"name": "Give the token a name, e.g. the script that uses it."})
    if len(name) > NAME_MAX_LENGTH:
        raise TokenRejected({"name": f"Keep the name under {NAME_MAX_LENGTH} characters."})
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        person_id=person.id,
        name=name,
        token_hash=hash_token(raw),
        prefix=raw[: len(TOKEN_PREFIX) + 4],
        created_at=now,
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    record(
        session,
        person,
        "token.created",
        target_type="api_token",
        target_id=token.id,
        details={
            "name": name,
            "expires_at": expires_at.isoformat(timespec="seconds") if expires_at else None,
        },
    )
    return token, raw


def authenticate(session: Session, raw: str, *, now: datetime) -> Person | None:
    """The active person a token belongs to, or None for a wrong or revoked
    token or an inactive owner; ``TokenExpired`` from the moment it expires
    (``expires_at == now`` is expired). Looking up by hash compares no
    secrets in Python.

    Read in one round trip, outside any transaction on PostgreSQL (see
    ``kudos.reads``); the last use, when written, is left in ``session``'s
    transaction for the caller to commit (``last_use_pending``)."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    found = read_token_holder(session, hash_token(raw))
    if found is None:
        return None
    (token_id, _, revoked_at, expires_at, last_used_at), person = found
    if revoked_at is not None:
        return None
    if expires_at is not None and expires_at <= now:
        raise TokenExpired(expires_at)
    if not person.active:
        return None
    if last_used_at is None or now - last_used_at >= LAST_USED_PRECISION:
        session.execute(
            update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now),
            execution_options={"synchronize_session": False},  # no token is loaded
        )
        session.info[LAST_USE_PENDING] = True
    return person


LAST_USE_PENDING = "kudos_token_last_use_pending"


def last_use_pending(session: Session) -> bool:
    """Whether ``authenticate`` wrote a token's last use that is not committed yet."""
    return bool(session.info.pop(LAST_USE_PENDING, False))


def tokens_of(session: Session, person: Person) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.person_id == person.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def revoke_token(session: Session, person: Person, token_id: int, *, now: datetime) -> bool:
    """Revoke one of ``person``'s own tokens; False when it is not theirs."""
    token = session.get(ApiToken, token_id)
    if token is None or token.person_id != person.id:
        return False
    if token.revoked_at is None:
        token.revoked_at = now
        record(session, person, "token.revoked", target_type="api_token", target_id=token.id)
        session.flush()
    return True


@on_deactivation
def revoke_tokens_of_deactivated(
    session: Session, person_ids: Sequence[int], *, actor: Actor, now: datetime
) -> None:
    """Deactivation revokes every token for good (each audited), so that a
    reactivation does not bring them back."""
    ids = list(person_ids)
    tokens = [
        token
        for start in range(0, len(ids), 500)  # bounded IN lists
        for token in session.scalars(
            select(ApiToken).where(
                ApiToken.person_id.in_(ids[start : start + 500]), ApiToken.revoked_at.is_(None)
            )
        )
    ]
    for token in tokens:
        token.revoked_at = now
        record(
            session,
            actor,
            "token.revoked",
            target_type="api_token",
            target_id=token.id,
            details={"reason": "owner deactivated", "person_id": token.person_id},
        )
    session.flush()
