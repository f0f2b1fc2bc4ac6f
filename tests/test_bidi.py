"""Messages and names in any script: every place that shows a person's name,
a kudos message or other text people typed marks it ``dir="auto"``, so that
Arabic and Hebrew read right to left inside an English page (and an English
name inside a right-to-left one reads left to right)."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from kudos.db import utcnow
from kudos.notifications import kudos_sent
from kudos.outbox.models import OutboxMessage
from kudos.people.models import Team
from kudos.preferences.models import RecognitionPreference
from kudos.summary.digest import send_digests
from kudos.timeutil import Month
from tests.conftest import sign_in

ARABIC_NAME = "سارة الحربي"  # Sara Al-Harbi
HEBREW_NAME = "דוד כהן"  # David Cohen
HEBREW_MESSAGE = "תודה רבה על העזרה עם השרת!"  # Thank you for the help with the server!
ARABIC_MESSAGE = "شكرا جزيلا على المساعدة في الميزانية"  # Thanks for the help with the budget
ARABIC_TEAM = "فريق المنصة"  # Platform team
HEBREW_DEPARTMENT = "כספים"  # Finance
ARABIC_THANKS = "قهوة معًا"  # Coffee together
# Where text appears without being shown as such (skipped by the checks).
NOT_SHOWN = {"title", "option", "script", "style", "textarea"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class _Holders(HTMLParser):
    """For each piece of text, the element that holds it directly."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, dict[str, str | None]]] = []
        self.texts: list[tuple[str, tuple[str, dict[str, str | None]], bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.stack.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        if data.strip() and self.stack:
            tags = {tag for tag, _ in self.stack}
            self.texts.append((data, self.stack[-1], "main" in tags and not tags & NOT_SHOWN))


def holders(html: str, text: str, *, whole_page: bool = False) -> list[tuple[str, dict]]:
    """The elements that directly hold ``text``: inside <main> (all of it
    for an e-mail), leaving out titles, options and form fields."""
    parser = _Holders()
    parser.feed(html)
    return [
        element
        for data, element, in_main in parser.texts
        if text in data and (in_main or whole_page) and element[0] not in NOT_SHOWN
    ]


def assert_auto(html: str, text: str, *, whole_page: bool = False, at_least: int = 1) -> None:
    found = holders(html, text, whole_page=whole_page)
    assert len(found) >= at_least, f"{text!r} is shown {len(found)} times"
    wrong = [element for element in found if element[1].get("dir") != "auto"]
    assert not wrong, f"{text!r} without dir=auto in {wrong}"


@pytest.fixture
def org(make, session):
    # A name in Arabic script has no ASCII slug: the address is given.
    team = Team(name=ARABIC_TEAM, slug="platform")
    session.add(team)
    finance = make.department(HEBREW_DEPARTMENT)
    manager = make.person(name="Maya Manager", email="maya@acme.example.com")
    sara = make.person(name=ARABIC_NAME, team=team, manager=manager, title="مهندسة")
    david = make.person(name=HEBREW_NAME, department=finance, title="מנהל כספים")
    session.add(
        RecognitionPreference(person=sara, email_opt_in=True, best_way_to_thank=ARABIC_THANKS)
    )
    session.commit()
    thanks = make.kudos(david, [sara], message=HEBREW_MESSAGE, at=utcnow() - timedelta(minutes=5))
    kudos = make.kudos(sara, [david, manager], message=ARABIC_MESSAGE)
    return {
        "team": team,
        "manager": manager,
        "sara": sara,
        "david": david,
        "kudos": kudos,
        "thanks_to_sara": thanks,
    }


def page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def test_the_feeds_and_the_kudos_page_mark_names_and_messages(client, org):
    sign_in(client, org["manager"])
    for path in (
        "/",
        f"/teams/{org['team'].slug}",
        f"/kudos/{org['kudos'].id}",
        "/values/responsive",
    ):
        html = page(client, path)
        assert_auto(html, ARABIC_NAME)
        assert_auto(html, ARABIC_MESSAGE if "/teams/" not in path else HEBREW_MESSAGE)
        if "/teams/" not in path:
            assert_auto(html, HEBREW_NAME)


def test_the_team_page_marks_the_team_and_its_members(client, org):
    sign_in(client, org["manager"])
    html = page(client, f"/teams/{org['team'].slug}")
    assert_auto(html, ARABIC_TEAM, at_least=2)  # the heading and the sentence under it
    member = [e for e in holders(html, ARABIC_NAME) if "member-list__name" in str(e[1])]
    assert member, "the members list shows Sara"


def test_the_profile_marks_name_title_team_department_and_best_way_to_thank(client, org):
    sign_in(client, org["manager"])
    sara = page(client, f"/people/{org['sara'].id}")
    assert_auto(sara, ARABIC_NAME, at_least=2)  # the heading and the cards
    assert_auto(sara, "مهندسة")
    assert_auto(sara, ARABIC_TEAM)
    assert_auto(sara, ARABIC_THANKS)
    assert_auto(sara, HEBREW_MESSAGE)
    david = page(client, f"/people/{org['david'].id}?tab=given")
    assert_auto(david, HEBREW_DEPARTMENT)
    assert_auto(david, HEBREW_NAME, at_least=2)


def test_the_leaderboard_marks_names(client, org):
    sign_in(client, org["manager"])
    html = page(client, "/leaderboard")
    assert_auto(html, ARABIC_NAME)
    assert_auto(html, HEBREW_NAME)


def test_the_summary_marks_names_quotes_best_way_to_thank_and_departments(client, org):
    sign_in(client, org["manager"])
    html = page(client, "/manager/summary")
    assert_auto(html, ARABIC_NAME)  # the report's row
    assert_auto(html, HEBREW_MESSAGE)  # a quote
    assert_auto(html, HEBREW_NAME)  # the quote's sender
    assert_auto(html, ARABIC_THANKS)
    assert_auto(html, HEBREW_DEPARTMENT)  # an internal customer


@pytest.fixture
def app_overrides():
    """E-mail on (nothing is sent: the messages are only queued here)."""
    return {"SMTP_URL": "smtp://127.0.0.1:25", "BASE_URL": "https://kudos.acme.example.com"}


def test_the_emails_mark_names_messages_and_departments(app, session, org):
    now = utcnow()
    with app.test_request_context():
        kudos_sent(session, org["thanks_to_sara"])
        send_digests(session, Month.containing(now, now.tzinfo), now=now, zone=now.tzinfo)
    kudos_mail = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "kudos")).one()
    assert_auto(kudos_mail.html_body, HEBREW_NAME, whole_page=True)
    assert_auto(kudos_mail.html_body, HEBREW_MESSAGE, whole_page=True)
    assert_auto(kudos_mail.html_body, ARABIC_NAME.split()[0], whole_page=True)  # "Hi Sara,"
    digest = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "summary")).one()
    assert_auto(digest.html_body, HEBREW_DEPARTMENT, whole_page=True)
