"""What the demo's kudos say: thank-yous that fit the people who send and get them.

Each story is written for the kind of work one team does (and, where it
says, for some titles in it) and for a kind of sender. ``{names}`` is
every recipient's first name ("Ana", "Ana and Ben", "Ana, Ben and Chloé"),
so a kudos to two people thanks both by name. Its values are the ones the
story is about.
"""

from __future__ import annotations

from dataclasses import dataclass

# Who may send a story:
OUTSIDE = "outside"  # someone from another team
TEAMMATE = "teammate"  # someone from the recipients' own team
REPORT = "report"  # someone who reports to the (one) recipient
MANAGER = "manager"  # the recipients' own manager
ANY_TEAM = "*"


@dataclass(frozen=True)
class Story:
    to: str  # the recipients' team, or ANY_TEAM
    text: str
    values: tuple[str, ...]  # value slugs; the first is always given
    sender: str = OUTSIDE
    titles: tuple[str, ...] = ()  # recipients' titles contain one of these
    from_teams: tuple[str, ...] = ()  # the sender's team is one of these
    solo: bool = False  # for one recipient only

    def names_fit(self, title: str | None) -> bool:
        return not self.titles or any(part in (title or "") for part in self.titles)


def join_names(names: list[str]) -> str:
    """["Ana"] -> "Ana"; ["Ana", "Ben", "Chloé"] -> "Ana, Ben and Chloé"."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


STORIES: tuple[Story, ...] = (
    # Engineering: Platform
    Story(
        "Platform",
        "{names} found the root cause of the slow checkout in an afternoon: a missing index. "
        "Page loads are down from 4 s to 300 ms.",
        ("competent", "ownership"),
    ),
    Story(
        "Platform",
        "Thanks {names} for jumping on the broken build right away and setting expectations "
        "in the channel before anyone had to ask.",
        ("responsive",),
        sender=TEAMMATE,
    ),
    Story(
        "Platform",
        "The incident write-up by {names} was so clear that the whole company understood what "
        "happened and why.",
        ("clear-communicator", "integrity"),
        titles=("Site Reliability", "Engineering Manager"),
    ),
    Story(
        "Platform",
        "{names} kept going until the flaky test was actually fixed, not just retried.",
        ("ownership", "competent"),
        sender=TEAMMATE,
    ),
    Story(
        "Platform",
        "{names} spent an hour walking me through our deployment pipeline. I shipped my first "
        "change the next day.",
        ("mentor",),
        sender=TEAMMATE,
        titles=("Senior", "Site Reliability", "Engineering Manager"),
    ),
    Story(
        "Platform",
        "{names} sat with us for a whole afternoon to understand the renewal process before "
        "changing the billing screen. Silos: broken.",
        ("collaborative",),
        from_teams=("EMEA Sales", "Customer Success"),
    ),
    Story(
        "Platform",
        "The new expense approval flow {names} built just works. Zero questions from my team "
        "so far.",
        ("competent",),
        from_teams=("Accounting", "Planning"),
        titles=("Backend",),
    ),
    Story(
        "Platform",
        "{names} pushed back on a risky shortcut in the release, explained why, and offered a "
        "safer plan. Exactly right.",
        ("integrity",),
        from_teams=("Mobile", "Leadership"),
    ),
    Story(
        "Platform",
        "Thanks {names} for the thoughtful review comments. I learned more from them than from "
        "any course.",
        ("mentor", "caring"),
        sender=TEAMMATE,
    ),
    # Engineering: Mobile
    Story(
        "Mobile",
        "Thanks {names} for pairing with us on the API changes instead of just throwing a spec "
        "over the wall.",
        ("collaborative",),
        from_teams=("Platform",),
        titles=("Engineer",),
    ),
    Story(
        "Mobile",
        "{names} shipped the fix for the login crash the same day our biggest customer "
        "reported it.",
        ("responsive", "ownership"),
        from_teams=("Customer Success", "EMEA Sales"),
        titles=("iOS", "Android"),
    ),
    Story(
        "Mobile",
        "{names} tested the new checkout screens with five real customers before a line of "
        "code was written.",
        ("collaborative", "clear-communicator"),
        titles=("Designer",),
    ),
    Story(
        "Mobile",
        "{names} took the flaky release pipeline apart and put it back together. Releases are "
        "boring again, in the best way.",
        ("ownership",),
        sender=TEAMMATE,
        titles=("Engineer",),
    ),
    Story(
        "Mobile",
        "{names} explained why the app asks for your location in two sentences anyone can "
        "understand. The support tickets about it stopped.",
        ("clear-communicator",),
        from_teams=("Customer Success", "Service Desk"),
    ),
    Story(
        "Mobile",
        "When my kid was sick, {names} swapped on-call shifts with me without a second thought.",
        ("caring",),
        sender=TEAMMATE,
        titles=("iOS", "Android"),
    ),
    # IT: Service Desk
    Story(
        "Service Desk",
        "{names} replied to my VPN ticket within ten minutes on a Friday evening and told me "
        "exactly what would happen next. Never left me guessing.",
        ("responsive",),
    ),
    Story(
        "Service Desk",
        "My new laptop arrived configured and ready on day one because {names} chased the "
        "vendor twice. Amazing turnaround.",
        ("responsive", "ownership"),
    ),
    Story(
        "Service Desk",
        "{names} listened to the whole story before suggesting anything. Felt heard, and the "
        "fix was right too.",
        ("caring", "competent"),
    ),
    Story(
        "Service Desk",
        "{names} rebuilt the printer queue on the 3rd floor and it has not jammed once since. "
        "Wizardry.",
        ("competent",),
        titles=("Support",),
    ),
    Story(
        "Service Desk",
        "{names} closed my ticket with a two-line note on what went wrong and how to avoid it. "
        "Clear and kind.",
        ("clear-communicator",),
    ),
    Story(
        "Service Desk",
        "{names} covered the service desk phones during our offsite so nobody had to wait.",
        ("collaborative", "caring"),
        sender=TEAMMATE,
    ),
    # IT: Infrastructure
    Story(
        "Infrastructure",
        "{names} migrated our shared drives over the weekend with zero lost files.",
        ("competent", "ownership"),
        titles=("Systems",),
    ),
    Story(
        "Infrastructure",
        "Thanks {names} for the phishing drill debrief: short, clear, and not a bit patronising.",
        ("clear-communicator",),
        titles=("Security",),
    ),
    Story(
        "Infrastructure",
        "{names} spotted the expiring certificate and renewed it before it became an outage.",
        ("ownership",),
        titles=("Systems", "Security"),
    ),
    Story(
        "Infrastructure",
        "{names} got the Wi-Fi in the big meeting room working for the customer visit, with "
        "ten minutes to spare.",
        ("responsive",),
        titles=("Network",),
    ),
    Story(
        "Infrastructure",
        "{names} said the access review would be done by Thursday. It was done Wednesday.",
        ("integrity",),
        titles=("Security",),
    ),
    Story(
        "Infrastructure",
        "{names} set up the new staging servers with us in one afternoon, and wrote the "
        "runbook while we watched.",
        ("collaborative", "mentor"),
        from_teams=("Platform", "Mobile"),
        titles=("Systems", "Network"),
    ),
    # Finance: Accounting
    Story(
        "Accounting",
        "Asked {names} a payroll question at 8:55 before a 9:00 call and had a clear answer "
        "by 8:58. Thank you!",
        ("responsive",),
        titles=("Payroll",),
    ),
    Story(
        "Accounting",
        "Thanks {names} for the flawless month-end close. Numbers tied out first time.",
        ("competent",),
        from_teams=("Planning", "Leadership"),
    ),
    Story(
        "Accounting",
        "{names} chased a supplier's lost invoice through three systems so they got paid "
        "before the weekend.",
        ("ownership", "caring"),
        titles=("Accounts Payable",),
    ),
    Story(
        "Accounting",
        "{names} noticed I was overwhelmed during quarter close and quietly took two "
        "reconciliations off my plate. I really appreciated it.",
        ("caring",),
        sender=TEAMMATE,
    ),
    Story(
        "Accounting",
        "{names} walked me through the new expense policy with real examples from my own "
        "claims. No jargon at all.",
        ("clear-communicator", "mentor"),
        titles=("Controller", "Accounts Payable"),
    ),
    # Finance: Planning
    Story(
        "Planning",
        "{names} explained the budget process to our team in 15 minutes with three slides. "
        "Thank you!",
        ("clear-communicator",),
        titles=("FP&A",),
    ),
    Story(
        "Planning",
        "{names} flagged a mistake in their own forecast before anyone else noticed and fixed "
        "it openly. Respect.",
        ("integrity",),
        titles=("FP&A",),
    ),
    Story(
        "Planning",
        "{names} took the messy vendor contract nobody wanted and saw it through to signature.",
        ("ownership",),
        titles=("Procurement",),
    ),
    Story(
        "Planning",
        "{names} made the handover between Accounting and Procurement seamless this quarter.",
        ("collaborative",),
        titles=("Procurement",),
        from_teams=("Accounting",),
    ),
    Story(
        "Planning",
        "{names} turned my messiest spreadsheet into a model the whole team can use, and "
        "showed me how it works.",
        ("mentor", "competent"),
        titles=("FP&A",),
    ),
    # Sales: EMEA Sales
    Story(
        "EMEA Sales",
        "{names} brought us the customer's feature request with the numbers behind it. Easy "
        "to say yes.",
        ("clear-communicator", "collaborative"),
        from_teams=("Platform", "Mobile"),
    ),
    Story(
        "EMEA Sales",
        "Thank you {names} for being straight with the customer about the delay and owning the "
        "follow-up.",
        ("integrity", "ownership"),
    ),
    Story(
        "EMEA Sales",
        "{names} joined our support rotation for a week to see the pain points first-hand.",
        ("collaborative",),
        from_teams=("Platform", "Service Desk"),
        titles=("Sales Engineer",),
    ),
    Story(
        "EMEA Sales",
        "{names} coached me before my first customer demo. It went great!",
        ("mentor",),
        sender=TEAMMATE,
        titles=("Sales Engineer", "Sales Manager"),
    ),
    Story(
        "EMEA Sales",
        "{names} sent every signed order with its purchase order number this quarter. "
        "Month-end was a joy.",
        ("ownership",),
        from_teams=("Accounting",),
        titles=("Account Executive",),
    ),
    # Sales: Customer Success
    Story(
        "Customer Success",
        "{names} picked up the escalation from the customer within the hour and kept us posted "
        "the whole way. That is how you never ghost a coworker.",
        ("responsive",),
    ),
    Story(
        "Customer Success",
        "Thank you {names} for taking the renewal from at-risk to signed, start to finish.",
        ("ownership",),
        titles=("Renewals",),
    ),
    Story(
        "Customer Success",
        "Thank you {names} for checking in after the tough customer call. It meant a lot.",
        ("caring",),
        sender=TEAMMATE,
    ),
    Story(
        "Customer Success",
        "{names} turned twenty customer complaints into one clear bug report with steps to "
        "reproduce. Fixed in a day.",
        ("clear-communicator", "collaborative"),
        from_teams=("Platform", "Mobile"),
    ),
    # People & Operations: People
    Story(
        "People",
        "{names} made the new starters feel at home from the first hour: desk, coffee, and a "
        "buddy for lunch.",
        ("caring",),
    ),
    Story(
        "People",
        "The onboarding revamp happened because {names} got IT, People and Finance in one "
        "room. Great cross-team work.",
        ("collaborative",),
    ),
    Story(
        "People",
        "{names} ran the spreadsheet-skills lunch and now half the team knows pivot tables.",
        ("mentor",),
        titles=("Learning",),
    ),
    Story(
        "People",
        "{names} found us two great candidates in a week and kept every applicant posted, hired "
        "or not.",
        ("responsive", "caring"),
        titles=("Recruiter",),
    ),
    Story(
        "People",
        "{names} helped me prepare a hard conversation with my team. Calm, practical and kind.",
        ("caring", "mentor"),
        titles=("People Partner", "Head of People"),
    ),
    # People & Operations: Workplace
    Story(
        "Workplace",
        "The office move had a hundred moving parts and {names} owned every one of them.",
        ("ownership",),
    ),
    Story(
        "Workplace",
        "{names} fixed my broken standing desk before my back noticed. Asked in the morning, "
        "done by lunch.",
        ("responsive",),
        titles=("Facilities",),
    ),
    Story(
        "Workplace",
        "{names} found a slot with all six directors in the same week. Nobody else could have.",
        ("competent", "ownership"),
        titles=("Executive Assistant",),
    ),
    Story(
        "Workplace",
        "The one-page summary of the new travel policy by {names} answered every question "
        "before we asked it.",
        ("clear-communicator",),
        titles=("Operations Analyst", "Office Manager"),
    ),
    Story(
        "Workplace",
        "{names} stayed late to set up the all-hands room so the rest of us could go home on time.",
        ("caring", "collaborative"),
        sender=TEAMMATE,
    ),
    # Leadership, and between managers and their reports in any team
    Story(
        "Leadership",
        "{names} answered my question at the all-hands honestly, including the part nobody "
        "wanted to hear.",
        ("integrity",),
    ),
    Story(
        "Leadership",
        "Thanks {names} for unblocking the accessibility work in one meeting. We start Monday.",
        ("ownership", "responsive"),
    ),
    Story(
        ANY_TEAM,
        "Grateful to {names} for making time every week for our 1:1s, even in the busiest month.",
        ("mentor", "caring"),
        sender=REPORT,
        solo=True,
    ),
    Story(
        ANY_TEAM,
        "{names}, thank you for stepping up while I was away: the team did not miss a beat.",
        ("ownership", "collaborative"),
        sender=MANAGER,
    ),
)
