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
from sqlalchemy.orm import Session

from kudos.people.models import Department, Person, Team
from kudos.preferences.models import FavouriteValue, RecognitionPreference
from kudos.recognition.models import Reaction, Value
from kudos.recognition.services import send_kudos
from kudos.text import slugify

DOMAIN = "northwind.example.com"
KUDOS_COUNT = 300
DAYS = 90

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

ADMINS = {"Maya Lindqvist", "Rahul Iyer"}

# Messages per value; {name} is the first recipient's first name.
MESSAGES: dict[str, list[str]] = {
    "responsive": [
        "{name} replied to my VPN ticket within ten minutes on a Friday evening and told me "
        "exactly what would happen next. Never left me guessing.",
        "Asked {name} a payroll question at 8:55 before a 9:00 call and had a clear answer "
        "by 8:58. Thank you!",
        "{name} picked up the escalation from the customer within the hour and kept us posted "
        "the whole way. That is how you never ghost a coworker.",
        "Thanks {name} for jumping on the broken build right away and setting expectations in "
        "the channel before anyone had to ask.",
        "My new laptop arrived configured and ready on day one because {name} chased the "
        "vendor twice. Amazing turnaround.",
    ],
    "caring": [
        "{name} noticed I was overwhelmed during quarter close and quietly took two "
        "reconciliations off my plate. I really appreciated it.",
        "Thank you {name} for checking in after the tough customer call. It meant a lot.",
        "{name} made the new starters feel at home from the first hour: desk, coffee, and a "
        "buddy for lunch.",
        "{name} listened to the whole story before suggesting anything. Felt heard, and the "
        "fix was right too.",
        "When my kid was sick, {name} swapped on-call shifts with me without a second thought.",
    ],
    "competent": [
        "{name} found the root cause of the slow checkout in an afternoon: a missing index. "
        "Page loads are down from 4 s to 300 ms.",
        "The new expense approval flow {name} built just works. Zero questions from my team "
        "so far.",
        "{name} rebuilt the printer queue on the 3rd floor and it has not jammed once since. "
        "Wizardry.",
        "Thanks {name} for the flawless month-end close. Numbers tied out first time.",
        "{name} migrated our shared drives over the weekend with zero lost files.",
    ],
    "integrity": [
        "{name} flagged a mistake in their own forecast before anyone else noticed and fixed "
        "it openly. Respect.",
        "{name} pushed back on a risky shortcut in the release, explained why, and offered a "
        "safer plan. Exactly right.",
        "Thank you {name} for being straight with the customer about the delay and owning the "
        "follow-up.",
        "{name} said they'd have the access review done by Thursday. It was done Wednesday.",
    ],
    "collaborative": [
        "{name} sat with Sales for a whole afternoon to understand the renewal process before "
        "changing the billing screen. Silos: broken.",
        "The onboarding revamp happened because {name} got IT, People and Finance in one room. "
        "Great cross-team work.",
        "{name} joined our support rotation for a week to see the pain points first-hand.",
        "Thanks {name} for pairing with the mobile team on the API changes instead of just "
        "throwing a spec over the wall.",
        "{name} made the handover between Finance and Procurement seamless this quarter.",
    ],
    "clear-communicator": [
        "{name}'s one-page summary of the new travel policy answered every question before "
        "we asked it.",
        "The incident write-up by {name} was so clear that the whole company understood what "
        "happened and why.",
        "{name} explained the budget process to our team in 15 minutes with three slides. "
        "Thank you!",
        "Thanks {name} for the weekly status notes: short, honest and always on time.",
    ],
    "ownership": [
        "{name} took the messy vendor contract nobody wanted and saw it through to signature.",
        "The office move had a hundred moving parts and {name} owned every one of them.",
        "{name} kept going until the flaky test was actually fixed, not just retried.",
        "Thank you {name} for taking the renewal from at-risk to signed, start to finish.",
        "{name} spotted the expiring certificate and renewed it before it became an outage.",
    ],
    "mentor": [
        "{name} spent an hour walking me through our deployment pipeline. I shipped my first "
        "change the next day.",
        "Thanks {name} for the thoughtful review comments. I learned more from them than from "
        "any course.",
        "{name} ran the spreadsheet-skills lunch and now half the team knows pivot tables.",
        "{name} coached me before my first customer demo. It went great!",
        "Grateful to {name} for making time every week for our 1:1s, even in the busiest month.",
    ],
}


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


def demo_people(session: Session) -> list[Person]:
    return list(
        session.scalars(
            select(Person).where(Person.email.like(f"%@{DOMAIN}")).order_by(Person.name)
        )
    )


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


def _create_kudos(
    session: Session,
    rng: random.Random,
    people: list[Person],
    values: list[Value],
    *,
    now: datetime,
    zone: ZoneInfo,
) -> int:
    moments = sorted(_working_moment(rng, now, zone) for _ in range(KUDOS_COUNT))
    by_team: dict[int | None, list[Person]] = {}
    for person in people:
        by_team.setdefault(person.team_id, []).append(person)
    # A few generous people, as in every real company.
    weights = [3 if index % 7 == 0 else 1 for index in range(len(people))]

    for index, moment in enumerate(moments):
        sender = rng.choices(people, weights)[0]
        pool = by_team[sender.team_id] if rng.random() < 0.45 else people
        candidates = [person for person in pool if person.id != sender.id] or [
            person for person in people if person.id != sender.id
        ]
        count = rng.choices((1, 2, 3), (75, 20, 5))[0]
        recipients = rng.sample(candidates, min(count, len(candidates)))
        # Cycle through the values so every one of them shows up in the demo.
        primary = values[index % len(values)]
        chosen = [primary] + ([rng.choice(values)] if rng.random() < 0.3 else [])
        message = rng.choice(MESSAGES[primary.slug]).format(name=recipients[0].first_name)
        visibility = rng.choices(("public", "team", "private"), (85, 10, 5))[0]
        kudos = send_kudos(
            session,
            sender,
            [person.id for person in recipients],
            [value.id for value in chosen],
            message,
            visibility,
            now=moment,
            zone=zone,
            daily_limit=1000,
        ).kudos
        for reactor in rng.sample(people, rng.randrange(0, 6)):
            if reactor.id != sender.id:
                reacted_at = min(moment + timedelta(minutes=rng.randrange(2, 600)), now)
                session.add(Reaction(kudos=kudos, person=reactor, created_at=reacted_at))
    session.flush()
    return len(moments)
