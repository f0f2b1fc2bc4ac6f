"""Turning models into the API's JSON, and checking the JSON it receives."""

from __future__ import annotations

from typing import Any

from kudos.api.errors import ApiError
from kudos.people.models import Person
from kudos.preferences.models import RecognitionPreference
from kudos.recognition.models import Kudos, Value
from kudos.urls import external_url


def iso(moment) -> str | None:  # noqa: ANN001
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def person_ref(person: Person) -> dict[str, Any]:
    return {"id": person.id, "name": person.name}


def value_json(value: Value) -> dict[str, Any]:
    return {
        "slug": value.slug,
        "name": value.name,
        "emoji": value.emoji,
        "description": value.description,
    }


def user_json(person: Person) -> dict[str, Any]:
    return {
        "id": person.id,
        "name": person.name,
        "email": person.email,
        "title": person.title,
        "team": person.team.name if person.team else None,
        "department": person.department.name if person.department else None,
    }


def kudos_json(kudos: Kudos) -> dict[str, Any]:
    return {
        "id": kudos.id,
        "sender": person_ref(kudos.sender),
        "recipients": [person_ref(person) for person in kudos.recipients],
        "values": [{"slug": v.slug, "name": v.name, "emoji": v.emoji} for v in kudos.values],
        "message": kudos.message,
        "visibility": kudos.visibility,
        "requested_visibility": kudos.requested_visibility,
        "created_at": iso(kudos.created_at),
        "reactions": len(kudos.reactions),
        "url": external_url("recognition.show", kudos_id=kudos.id),
    }


def preferences_json(preference: RecognitionPreference | None) -> dict[str, Any]:
    if preference is None:
        return {
            "audience": "public",
            "style": "low_key",
            "email_opt_in": False,
            "slack_opt_in": False,
            "in_slack_channel": True,
            "on_leaderboards": True,
            "favourite_values": [],
            "best_way_to_thank": None,
            "onboarded": False,
        }
    return {
        "audience": preference.audience,
        "style": preference.style,
        "email_opt_in": preference.email_opt_in,
        "slack_opt_in": preference.slack_opt_in,
        "in_slack_channel": preference.in_slack_channel,
        "on_leaderboards": preference.on_leaderboards,
        "favourite_values": [value.slug for value in preference.favourite_values],
        "best_way_to_thank": preference.best_way_to_thank,
        "onboarded": True,
    }


def text_problem(text: str) -> str | None:
    """What no text field may hold, whatever it means: a NUL (PostgreSQL cannot
    store one) or a lone UTF-16 surrogate (JSON allows "\\ud800"; UTF-8 cannot
    encode it, so the database driver would fail)."""
    if "\x00" in text:
        return "Must not contain NUL characters."
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "Must be valid Unicode text (no lone surrogates)."
    return None


class Body:
    """Typed access to a JSON object, collecting a message per bad field, so
    that one answer lists every problem (``check`` raises them together)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.problems: dict[str, str] = {}

    def _get(self, name: str, required: bool, default: Any) -> Any:  # noqa: ANN401
        if name not in self.data or self.data[name] is None:
            if required:
                self.problems[name] = "This field is required."
            return default
        return self.data[name]

    def string(self, name: str, *, required: bool = True, default: str | None = "") -> Any:  # noqa: ANN401
        value = self._get(name, required, default)
        if value is not default and not isinstance(value, str):
            self.problems[name] = "Must be a string."
            return default
        if isinstance(value, str) and (problem := text_problem(value)):
            self.problems[name] = problem
            return default
        return value

    def boolean(self, name: str, *, required: bool = True, default: bool = False) -> bool:
        value = self._get(name, required, default)
        if not isinstance(value, bool):
            self.problems[name] = "Must be true or false."
            return default
        return value

    def list_of(
        self, name: str, kinds: tuple[type, ...], *, required: bool = True, max_items: int = 50
    ) -> list[Any]:
        value = self._get(name, required, [])
        if not isinstance(value, list) or any(
            isinstance(item, bool) or not isinstance(item, kinds) for item in value
        ):
            names = " or ".join({int: "integers", str: "strings"}[kind] for kind in kinds)
            self.problems[name] = f"Must be a list of {names}."
            return []
        if len(value) > max_items:
            self.problems[name] = f"At most {max_items} items."
            return []
        for item in value:
            if isinstance(item, str) and (problem := text_problem(item)):
                self.problems[name] = problem
                return []
        return value

    def problem(self, name: str, message: str) -> None:
        """A problem found beyond the field's shape (an unknown slug, say);
        a problem with the shape, found first, says more and is kept."""
        self.problems.setdefault(name, message)

    def add_rule_problems(self, fields: dict[str, str]) -> None:
        """What the service's rules found, for the fields not already
        refused here (their values were replaced by defaults)."""
        for name, message in fields.items():
            if name != "__all__":
                self.problem(name, message)

    def check(self) -> None:
        """Raise every problem found in one 422."""
        if self.problems:
            raise ApiError(422, "invalid", "Some fields are not valid.", self.problems)

    def allow(self, *names: str, read_only: tuple[str, ...] = ()) -> Body:
        """The fields this body may hold; any other is a problem. ``read_only``
        ones are what the matching GET answers: accepted and ignored, so that
        an answer can be sent back unchanged."""
        for name in sorted(set(self.data) - {*names, *read_only}):
            self.problems[name] = "Unknown field."
        return self
