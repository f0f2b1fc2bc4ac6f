"""Every model in one import, so the metadata is complete for Alembic and tests."""

from kudos.audit.models import AuditEntry
from kudos.auth.models import ApiToken, Identity
from kudos.cache import CacheGeneration
from kudos.db import Base
from kudos.leaderboard.models import LeaderboardPair, LeaderboardScore
from kudos.outbox.models import OutboxMessage
from kudos.people.models import Department, Person, Team
from kudos.preferences.models import FavouriteValue, RecognitionPreference
from kudos.recognition.card_versions import DirectoryGeneration
from kudos.recognition.models import (
    DeletedSend,
    Kudos,
    KudosReport,
    Reaction,
    Recognition,
    Value,
    kudos_value,
)
from kudos.scim.models import ScimGroup, ScimToken, ScimUser
from kudos.slack.models import SlackLink, SlackPost

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Base",
    "CacheGeneration",
    "Department",
    "DirectoryGeneration",
    "FavouriteValue",
    "Identity",
    "Kudos",
    "KudosReport",
    "DeletedSend",
    "LeaderboardPair",
    "LeaderboardScore",
    "OutboxMessage",
    "Person",
    "Reaction",
    "ScimGroup",
    "ScimToken",
    "ScimUser",
    "SlackLink",
    "SlackPost",
    "Recognition",
    "RecognitionPreference",
    "Team",
    "Value",
    "kudos_value",
]
