"""A believable demo organisation: Northwind, 40 people in 5 departments.

``load_demo`` is deterministic for a given ``now`` and seed, so screenshots
and tests see the same company. It sends kudos through the real service, so
the demo obeys every rule the product does.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from kudos.demo.stories import (
    ANY_TEAM,
    MANAGER,
    OUTSIDE,
    REPORT,
    STORIES,
    TEAMMATE,
    Story,
    join_names,
)
from kudos.people import sources
from kudos.people.models import Department, Person, Team
from kudos.preferences.models import FavouriteValue, RecognitionPreference
from kudos.recognition.models import Reaction, Value
from kudos.recognition.services import send_kudos
from kudos.text import slugify

DOMAIN = "northwind.example.com"
KUDOS_COUNT = 300
DAYS = 90
# The newest kudos: in the last hours, in this month even on its first day.
RECENT = 8
RECENT_HOURS = timedelta(hours=6)
RECENT_TEAMS = (
    "Platform",
    "Service Desk",
    "Accounting",
    "EMEA Sales",
    "Customer Success",
    "People",
    "Mobile",
    "Workplace",
)
VISIBILITIES = ("public", "team", "private")

# (name, title, department, team, manager's name or None)
PEOPLE: list[tuple[str, str, str, str, str | None]] = [
    ("Maya Lindqvist", "Chief Operating Officer", "People & Operations", "Leadership", None),
    # Engineering
    ("Daniel Okafor", "VP Engineering", "Engineering", "Leadership", "Maya Lindqvist"),
    ("Priya Raman", "Engineering Manager, Platform", "Engineering", "Platform", "Daniel Okafor"),
    ("Tomás Herrera", "Senior Backend Engineer", "Engineering", "Platform", "Priya Raman"),
    ("Hannah Weiss", "Site Reliability Engineer", "Engineering", "Platform", "Priya Raman"),
    ("Kwame Mensah", "Backend Engineer", "Engineering", "Platform", "Priya Raman"),
    ("Sofia Marchetti", "Junior Engineer", "Engineering", "Platform", "Priya Raman"),
    ("Jun Watanabe", "Engineering Manager, Mobile", "Engineering", "Mobile", "Daniel Okafor"),
    ("Amara Nwosu", "iOS Engineer", "Engineering", "Mobile", "Jun Watanabe"),
    ("Lucas Dubois", "Android Engineer", "Engineering", "Mobile", "Jun Watanabe"),
    ("Zoe Campbell", "Product Designer", "Engineering", "Mobile", "Jun Watanabe"),
    # IT
    ("Rahul Iyer", "Head of IT", "IT", "Leadership", "Maya Lindqvist"),
    ("Grace Liu", "Service Desk Lead", "IT", "Service Desk", "Rahul Iyer"),
    ("Mateo Rossi", "IT Support Specialist", "IT", "Service Desk", "Grace Liu"),
    ("Fatima Zahra", "IT Support Specialist", "IT", "Service Desk", "Grace Liu"),
    ("Oliver Brandt", "Systems Administrator", "IT", "Infrastructure", "Rahul Iyer"),
    ("Aisha Bello", "Security Engineer", "IT", "Infrastructure", "Rahul Iyer"),
    ("Noah Fischer", "Network Engineer", "IT", "Infrastructure", "Rahul Iyer"),
    # Finance
    ("Elena Petrova", "Finance Director", "Finance", "Leadership", "Maya Lindqvist"),
    ("Samuel Adeyemi", "Financial Controller", "Finance", "Accounting", "Elena Petrova"),
    ("Chloé Martin", "Accounts Payable Specialist", "Finance", "Accounting", "Samuel Adeyemi"),
    ("Ravi Kapoor", "Payroll Specialist", "Finance", "Accounting", "Samuel Adeyemi"),
    ("Isabel Ortega", "FP&A Analyst", "Finance", "Planning", "Elena Petrova"),
    ("Ben Carter", "Procurement Manager", "Finance", "Planning", "Elena Petrova"),
    # Sales
    ("Laura Jensen", "VP Sales", "Sales", "Leadership", "Maya Lindqvist"),
    ("Marcus Reid", "Sales Manager, EMEA", "Sales", "EMEA Sales", "Laura Jensen"),
    ("Yara Haddad", "Account Executive", "Sales", "EMEA Sales", "Marcus Reid"),
    ("Felix Novak", "Account Executive", "Sales", "EMEA Sales", "Marcus Reid"),
    ("Mei Chen", "Sales Engineer", "Sales", "EMEA Sales", "Marcus Reid"),
    ("Diego Alvarez", "Customer Success Manager", "Sales", "Customer Success", "Laura Jensen"),
    ("Nadia Rahman", "Customer Success Manager", "Sales", "Customer Success", "Diego Alvarez"),
    ("Owen Gallagher", "Renewals Specialist", "Sales", "Customer Success", "Diego Alvarez"),
    # People & Operations
    ("Ingrid Solberg", "Head of People", "People & Operations", "People", "Maya Lindqvist"),
    ("Kofi Asante", "People Partner", "People & Operations", "People", "Ingrid Solberg"),
    ("Lena Vogel", "Recruiter", "People & Operations", "People", "Ingrid Solberg"),
    (
        "Arjun Mehta",
        "Learning & Development Lead",
        "People & Operations",
        "People",
        "Ingrid Solberg",
    ),
    ("Camille Laurent", "Office Manager", "People & Operations", "Workplace", "Maya Lindqvist"),
    (
        "Ethan Brooks",
        "Facilities Coordinator",
        "People & Operations",
        "Workplace",
        "Camille Laurent",
    ),
    ("Rosa Jimenez", "Executive Assistant", "People & Operations", "Workplace", "Camille Laurent"),
    ("Sven Larsen", "Operations Analyst", "People & Operations", "Workplace", "Camille Laurent"),
]

# Varied preferences so the demo shows every behaviour: audience, style,
# e-mail, leaderboard opt-out, favourite values and "best way to thank me".
# People not listed here have not been through onboarding yet.
PREFERENCES: dict[str, tuple[str, str, bool, bool, tuple[str, ...], str | None]] = {
    "Maya Lindqvist": (
        "public",
        "low_key",
        True,
        True,
        ("ownership", "integrity"),
        "A short note about what changed because of it.",
    ),
    "Daniel Okafor": ("public", "low_key", False, True, ("mentor",), None),
    "Priya Raman": (
        "private",
        "low_key",
        True,
        True,
        ("mentor", "caring"),
        "A coffee chat, honestly.",
    ),
    "Tomás Herrera": (
        "public",
        "celebratory",
        True,
        True,
        ("competent", "ownership"),
        "Tell my manager!",
    ),
    "Hannah Weiss": (
        "team",
        "low_key",
        False,
        True,
        ("responsive",),
        "Just say thanks in the incident channel.",
    ),
    "Kwame Mensah": ("public", "celebratory", True, True, ("collaborative",), None),
    "Sofia Marchetti": (
        "public",
        "celebratory",
        True,
        True,
        ("mentor", "competent"),
        "Pair with me on something tricky.",
    ),
    "Jun Watanabe": ("team", "low_key", False, False, ("caring",), None),
    "Amara Nwosu": (
        "public",
        "celebratory",
        False,
        True,
        ("clear-communicator",),
        "Air horns. Always air horns.",
    ),
    "Lucas Dubois": ("public", "low_key", True, True, ("competent",), None),
    "Zoe Campbell": (
        "public",
        "celebratory",
        True,
        True,
        ("collaborative", "caring"),
        "Show me how the design helped a customer.",
    ),
    "Rahul Iyer": ("public", "low_key", True, True, ("integrity", "ownership"), None),
    "Grace Liu": (
        "public",
        "celebratory",
        True,
        True,
        ("responsive", "caring"),
        "Close the ticket with a smiley :)",
    ),
    "Mateo Rossi": ("public", "celebratory", False, True, ("responsive",), None),
    "Fatima Zahra": (
        "private",
        "low_key",
        True,
        False,
        ("caring", "clear-communicator"),
        "A private message is perfect.",
    ),
    "Oliver Brandt": ("team", "low_key", False, True, ("competent",), None),
    "Aisha Bello": (
        "public",
        "low_key",
        True,
        True,
        ("integrity",),
        "Report a phishing e-mail. Seriously, that's the best thanks.",
    ),
    "Elena Petrova": ("public", "low_key", False, True, ("integrity", "clear-communicator"), None),
    "Samuel Adeyemi": (
        "private",
        "low_key",
        True,
        True,
        ("ownership",),
        "Send your expense reports on time.",
    ),
    "Chloé Martin": ("public", "celebratory", True, True, ("responsive", "caring"), None),
    "Ravi Kapoor": ("team", "low_key", False, True, ("competent",), None),
    "Isabel Ortega": (
        "public",
        "celebratory",
        True,
        True,
        ("clear-communicator",),
        "Bring me your messiest spreadsheet.",
    ),
    "Laura Jensen": ("public", "celebratory", True, True, ("collaborative", "ownership"), None),
    "Marcus Reid": ("public", "celebratory", False, True, ("collaborative",), None),
    "Yara Haddad": (
        "public",
        "celebratory",
        True,
        True,
        ("responsive", "clear-communicator"),
        "A shout-out in the Monday sales call.",
    ),
    "Mei Chen": ("team", "low_key", True, True, ("competent", "mentor"), None),
    "Diego Alvarez": ("public", "low_key", True, True, ("caring",), None),
    "Nadia Rahman": (
        "public",
        "celebratory",
        True,
        True,
        ("caring", "responsive"),
        "Cake. The answer is always cake.",
    ),
    "Ingrid Solberg": ("public", "low_key", True, True, ("caring", "integrity"), None),
    "Kofi Asante": (
        "private",
        "low_key",
        False,
        True,
        ("mentor",),
        "Tell me how it went afterwards.",
    ),
    "Lena Vogel": ("public", "celebratory", True, True, ("responsive", "collaborative"), None),
    "Arjun Mehta": (
        "public",
        "celebratory",
        True,
        True,
        ("mentor", "clear-communicator"),
        "Share what you learned with someone else.",
    ),
    "Camille Laurent": ("public", "low_key", False, True, ("ownership",), None),
    "Ethan Brooks": ("public", "celebratory", True, True, ("responsive",), None),
}

# Slack, beside e-mail: a direct message for each kudos for some, and one
# low-key person who would rather not be named in the company channel's post.
SLACK_OPT_IN = {"Daniel Okafor", "Tomás Herrera", "Hannah Weiss", "Kwame Mensah", "Mei Chen"}
LEFT_OUT_OF_SLACK_CHANNEL = {"Daniel Okafor"}

ADMINS = {"Maya Lindqvist", "Rahul Iyer"}


@dataclass(frozen=True)
class DemoReport:
    people: int
    kudos: int
    skipped: bool

    def __str__(self) -> str:
        if self.skipped:
            return f"Demo data already present ({self.people} people, {self.kudos} kudos)."
        return f"Loaded the demo organisation: {self.people} people, {self.kudos} kudos."


def email_for(name: str) -> str:
    return slugify(name).replace("-", ".") + "@" + DOMAIN


@dataclass(frozen=True)
class DemoPerson:
    """Someone to sign in as, and what the sign-in page says about them."""

    person: Person
    reports: int  # active people who report to them
    onboarded: bool  # said how they like to be thanked (else onboarding comes first)


def demo_people(session: Session) -> list[DemoPerson]:
    reports = dict(
        session.execute(
            select(Person.manager_id, func.count())
            .where(Person.active, Person.manager_id.is_not(None))
            .group_by(Person.manager_id)
        ).all()
    )
    people = session.scalars(
        select(Person)
        .where(Person.email.like(f"%@{DOMAIN}"))
        .options(selectinload(Person.preference), selectinload(Person.department))
        .order_by(Person.name)
    )
    return [
        DemoPerson(person, reports.get(person.id, 0), person.preference is not None)
        for person in people
    ]


def load_demo(session: Session, *, now: datetime, zone: ZoneInfo, seed: int = 7) -> DemoReport:
    """Create the demo organisation unless it is already there. Flushes only."""
    existing = session.scalar(
        select(func.count()).select_from(Person).where(Person.email.like(f"%@{DOMAIN}"))
    )
    if existing:
        from kudos.recognition.models import Kudos

        return DemoReport(existing, session.scalar(select(func.count()).select_from(Kudos)), True)

    rng = random.Random(seed)
    people = _create_people(session)
    values = list(session.scalars(select(Value).where(Value.active).order_by(Value.position)))
    _create_preferences(session, people, {value.slug: value for value in values})
    kudos_count = _create_kudos(session, rng, list(people.values()), values, now=now, zone=zone)
    return DemoReport(len(people), kudos_count, False)


def _create_people(session: Session) -> dict[str, Person]:
    departments: dict[str, Department] = {}
    teams: dict[str, Team] = {}
    people: dict[str, Person] = {}
    for name, title, department, team, _ in PEOPLE:
        if department not in departments:
            departments[department] = Department(name=department, slug=slugify(department))
        if team not in teams:
            teams[team] = Team(name=team, slug=slugify(team))
        people[name] = Person(
            email=email_for(name),
            name=name,
            title=title,
            department=departments[department],
            team=teams[team],
            admin_granted=name in ADMINS,
            # The demo company stands for a directory import.
            profile_sources=dict.fromkeys(sources.FIELDS, sources.IMPORT),
        )
    for name, *_, manager in PEOPLE:
        if manager:
            people[name].manager = people[manager]
    session.add_all(people.values())
    session.flush()
    return people


def _create_preferences(
    session: Session, people: dict[str, Person], values: dict[str, Value]
) -> None:
    for name, (audience, style, email, board, favourites, best_way) in PREFERENCES.items():
        preference = RecognitionPreference(
            person=people[name],
            audience=audience,
            style=style,
            email_opt_in=email,
            slack_opt_in=name in SLACK_OPT_IN,
            in_slack_channel=name not in LEFT_OUT_OF_SLACK_CHANNEL,
            on_leaderboards=board,
            best_way_to_thank=best_way,
        )
        preference.favourites = [
            FavouriteValue(value=values[slug], position=position)
            for position, slug in enumerate(favourites, start=1)
        ]
        session.add(preference)
    session.flush()


def _working_moment(rng: random.Random, now: datetime, zone: ZoneInfo) -> datetime:
    """A random weekday working hour within the last DAYS days, before ``now``."""
    while True:
        day = (now.astimezone(zone) - timedelta(days=rng.randrange(DAYS))).date()
        if day.weekday() >= 5 and rng.random() < 0.85:
            continue  # mostly weekdays; the odd weekend thank-you is real life
        local = datetime.combine(day, time(rng.randrange(8, 18), rng.randrange(60)), zone)
        moment = local.astimezone(now.tzinfo)
        if moment < now:
            return moment


def recent_moments(now: datetime, zone: ZoneInfo, count: int = RECENT) -> list[datetime]:
    """``count`` moments of the last few hours, oldest first, all in this
    month of the organisation and none after ``now``: on the 1st of a month
    just after midnight they are minutes or seconds apart, but they are there,
    so a manager's summary and the leaderboard of the new month are not empty."""
    local_now = now.astimezone(zone)
    month_start = datetime.combine(local_now.date().replace(day=1), time(0), zone)
    span = min(now - month_start, RECENT_HOURS)
    return [now - span * (count - index) / (count + 1) for index in range(count)]


class _Company:
    """The demo people, grouped the ways stories pick them."""

    def __init__(self, people: list[Person]) -> None:
        self.people = people
        self.team_of = {person.id: person.team.name for person in people}
        self.by_team: dict[str, list[Person]] = {}
        self.reports: dict[int, list[Person]] = {}
        for person in people:
            self.by_team.setdefault(person.team.name, []).append(person)
            if person.manager_id:
                self.reports.setdefault(person.manager_id, []).append(person)
        # A few generous people, as in every real company.
        self.weight = {person.id: 3 if index % 7 == 0 else 1 for index, person in enumerate(people)}

    def pick(self, rng: random.Random, pool: list[Person]) -> Person:
        return rng.choices(pool, [self.weight[person.id] for person in pool])[0]

    def cast(
        self, rng: random.Random, story: Story, *, reports_only: bool = False
    ) -> tuple[Person, list[Person]] | None:
        """A sender and recipients the story fits, or None if nobody does;
        ``reports_only``: recipients who manage nobody (they show in a summary)."""
        candidates = [
            person
            for person in (self.people if story.to == ANY_TEAM else self.by_team[story.to])
            if story.names_fit(person.title)
            and not (reports_only and (self.reports.get(person.id) or not person.manager_id))
        ]
        if story.sender == REPORT:
            managers = [person for person in candidates if self.reports.get(person.id)]
            if not managers:
                return None
            recipient = rng.choice(managers)
            return rng.choice(self.reports[recipient.id]), [recipient]
        if story.sender == MANAGER:
            managers = [
                p for p in self.people if any(r in candidates for r in self.reports.get(p.id, []))
            ]
            if not managers:
                return None
            sender = rng.choice(managers)
            team = [person for person in self.reports[sender.id] if person in candidates]
            return sender, rng.sample(team, min(_how_many(rng, story), len(team)))
        if not candidates:
            return None
        recipients = rng.sample(candidates, min(_how_many(rng, story), len(candidates)))
        team = self.team_of[recipients[0].id]
        senders = [
            person
            for person in self.people
            if person not in recipients
            and (self.team_of[person.id] == team) == (story.sender == TEAMMATE)
            and (not story.from_teams or self.team_of[person.id] in story.from_teams)
        ]
        return (self.pick(rng, senders), recipients) if senders else None


def _how_many(rng: random.Random, story: Story) -> int:
    return 1 if story.solo else rng.choices((1, 2, 3), (75, 20, 5))[0]


def _create_kudos(
    session: Session,
    rng: random.Random,
    people: list[Person],
    values: list[Value],
    *,
    now: datetime,
    zone: ZoneInfo,
) -> int:
    """KUDOS_COUNT kudos over the last DAYS days, the last RECENT of them in
    the last hours; each tells a story that fits its sender and recipients."""
    moments = sorted(_working_moment(rng, now, zone) for _ in range(KUDOS_COUNT - RECENT))
    moments += recent_moments(now, zone)
    company = _Company(people)
    by_slug = {value.slug: value for value in values}
    # Every story in turn (in a shuffled order), so every value shows up; the
    # recent ones go to the teams of several managers, for their summaries.
    order = rng.sample(STORIES, len(STORIES))
    for index, moment in enumerate(moments):
        is_recent = index >= len(moments) - RECENT
        if is_recent:
            team = RECENT_TEAMS[index % len(RECENT_TEAMS)]
            story, cast = next(
                (story, cast)
                for story in order
                if story.to == team
                and story.sender == OUTSIDE
                and (cast := company.cast(rng, story, reports_only=True))
            )
        else:
            story = order[index % len(order)]
            cast = company.cast(rng, story)
            while cast is None:  # a story nobody fits (none, with the demo people)
                story = rng.choice(STORIES)
                cast = company.cast(rng, story)
        sender, recipients = cast
        chosen = [story.values[0]] + [slug for slug in story.values[1:] if rng.random() < 0.6]
        message = story.text.format(names=join_names([person.first_name for person in recipients]))
        visibility = "public" if is_recent else rng.choices(VISIBILITIES, (85, 10, 5))[0]
        kudos = send_kudos(
            session,
            sender,
            [person.id for person in recipients],
            [by_slug[slug].id for slug in chosen],
            message,
            visibility,
            now=moment,
            zone=zone,
            daily_limit=1000,
        ).kudos
        # Applause from others: nobody applauds kudos they sent or received.
        involved = {sender.id, *(person.id for person in recipients)}
        for reactor in rng.sample(people, rng.randrange(0, 6)):
            if reactor.id not in involved:
                reacted_at = min(moment + timedelta(minutes=rng.randrange(2, 600)), now)
                session.add(Reaction(kudos=kudos, person=reactor, created_at=reacted_at))
    session.flush()
    return len(moments)
