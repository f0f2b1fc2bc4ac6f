"""After any sequence of sends (any requested visibility, one to three
recipients) and audience changes, every viewer sees exactly the kudos a plain
reference of the rule in PRODUCT.md says: through ``visible_to`` in SQL,
``can_see`` in Python and the company feed alike."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from kudos.people.models import Person, Team
from kudos.preferences.services import PreferenceChoices, save_preferences
from kudos.recognition.feed import card_refs
from kudos.recognition.models import Kudos, Value
from kudos.recognition.services import send_kudos
from kudos.recognition.visibility import can_see, visible_to

ZONE = ZoneInfo("Europe/Berlin")
BASE = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # the night clocks go back in Berlin
LEVELS = ("public", "team", "private")
_runs = itertools.count()

# Six people: (team, manager), by index. Two teams, one person without a
# team, a chain of managers across teams.
ORG = [("a", None), ("a", 0), ("b", 0), ("b", 2), (None, 3), ("a", None)]

steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("send"),
            st.integers(0, 5),
            st.lists(st.integers(0, 5), min_size=1, max_size=3, unique=True),
            st.sampled_from(LEVELS),
        ),
        st.tuples(st.just("audience"), st.integers(0, 5), st.sampled_from(LEVELS)),
    ),
    max_size=20,
)


@dataclass
class Reference:
    """The rule, written plainly: no SQL, no stored visibility."""

    audience: dict[int, str]
    kudos: list[tuple[int, list[int], str]]  # sender, recipients, requested

    def effective(self, index: int) -> str:
        _, recipients, requested = self.kudos[index]
        wanted = [requested, *(self.audience.get(r, "public") for r in recipients)]
        return max(wanted, key=LEVELS.index)

    def sees(self, viewer: int, index: int) -> bool:
        sender, recipients, _ = self.kudos[index]
        level = self.effective(index)
        if level == "public" or viewer == sender:
            return True
        for r in recipients:
            if viewer == r or ORG[r][1] == viewer:
                return True
            if level == "team" and ORG[viewer][0] is not None and ORG[viewer][0] == ORG[r][0]:
                return True
        return False


@settings(
    max_examples=100, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
@given(steps=steps)
def test_every_viewer_sees_what_the_reference_says(session, steps):
    nested = session.begin_nested()
    try:
        run = next(_runs)
        teams = {name: Team(name=f"V{run} {name}", slug=f"v{run}-{name}") for name in "ab"}
        people = [
            Person(email=f"v{run}-{n}@acme.example.com", name=f"V {n}", team=teams.get(team))
            for n, (team, _) in enumerate(ORG)
        ]
        for person, (_, manager) in zip(people, ORG, strict=True):
            person.manager = people[manager] if manager is not None else None
        session.add_all(people)
        session.flush()
        value_id = session.scalar(select(Value.id).order_by(Value.position).limit(1))
        reference = Reference({}, [])
        sent: list[int] = []
        for number, step in enumerate(steps):
            if step[0] == "send":
                _, sender, recipients, requested = step
                recipients = [r for r in recipients if r != sender]
                if not recipients:
                    continue
                result = send_kudos(
                    session,
                    people[sender],
                    [people[r].id for r in recipients],
                    [value_id],
                    "Thanks",
                    requested,
                    now=BASE + timedelta(minutes=17 * number),
                    zone=ZONE,
                    daily_limit=1000,
                )
                sent.append(result.kudos.id)
                reference.kudos.append((sender, recipients, requested))
            else:
                _, person, audience = step
                save_preferences(
                    session,
                    people[person],
                    PreferenceChoices(audience, "low_key", False, True, [], None),
                    now=BASE,
                )
                reference.audience[person] = audience

        loaded = [session.get(Kudos, kudos_id) for kudos_id in sent]
        for viewer, person in enumerate(people):
            expected = {sent[i] for i in range(len(sent)) if reference.sees(viewer, i)}
            in_sql = set(
                session.scalars(select(Kudos.id).where(Kudos.id.in_(sent), visible_to(person)))
            )
            in_python = {kudos.id for kudos in loaded if can_see(person, kudos)}
            # The company feed's first page, a statement built once per kind
            # of viewer with the viewer bound (``feed.card_refs``).
            refs = card_refs(session, person, size=1000).items
            in_feed = {ref.kudos_id for ref in refs} & set(sent)
            assert in_sql == expected, (viewer, reference)
            assert in_python == expected, (viewer, reference)
            assert in_feed == expected, (viewer, reference)
    finally:
        nested.rollback()
        # Rows loaded inside the example would otherwise stay in this
        # session's identity map for the next example (SQLite reuses ids).
        session.expunge_all()
