"""Moderation is not reading: admins hide, restore and handle reports about
any kudos, read a kudos outside their audience only by opening it on purpose
(audited), and are in no audience by being admins. Anyone may report what
they can see."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from kudos.audit.models import AuditEntry
from kudos.auth.tokens import create_token
from kudos.db import utcnow
from kudos.recognition.models import Kudos, KudosReport
from kudos.recognition.reports import (
    MAX_REPORT_REASON_LENGTH,
    dismiss_reports,
    open_for_moderation,
    open_reports,
    report_kudos,
)
from kudos.recognition.services import KudosRejected, hide_kudos
from tests.conftest import sign_in

UTC = ZoneInfo("UTC")
SECRET = "Thanks for keeping my diagnosis quiet"


@pytest.fixture
def org(make):
    platform, sales, ops = make.team("Platform"), make.team("Sales"), make.team("Ops")
    boss = make.person(name="Bo Boss", team=platform)
    return {
        "sender": make.person(name="Sam Sender", team=sales),
        "recipient": make.person(name="Rita Recipient", team=platform, manager=boss),
        "teammate": make.person(name="Tia Teammate", team=platform),
        "stranger": make.person(name="Xan Stranger", team=ops),
        "boss": boss,
        "admin": make.person(name="Ada Admin", team=ops, admin_granted=True),
    }


@pytest.fixture
def private(make, org):
    return make.kudos(org["sender"], [org["recipient"]], message=SECRET, visibility="private")


def actions(session) -> list[str]:
    return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def body(response) -> str:
    return response.get_data(as_text=True)


# Admins are in no audience ----------------------------------------------------


def test_an_admin_outside_the_audience_cannot_read_it(client, session, org, private):
    sign_in(client, org["admin"])
    _, raw = create_token(session, org["admin"], "test", now=utcnow())
    session.commit()
    headers = {"Authorization": f"Bearer {raw}"}

    assert client.get(f"/kudos/{private.id}").status_code == 404
    assert client.get(f"/api/v1/kudos/{private.id}", headers=headers).status_code == 404
    for url in ("/", "/teams/platform", f"/people/{org['recipient'].id}", "/values/responsive"):
        assert SECRET not in body(client.get(url)), url
    assert SECRET not in body(client.get("/api/v1/kudos", headers=headers))
    assert SECRET not in body(client.get("/admin/moderation"))


# Hiding and restoring what one cannot read ------------------------------------


def test_an_admin_hides_and_restores_a_private_kudos_they_cannot_read(
    browser, client, session, org, private
):
    sign_in(client, org["admin"])
    page = f"/admin/kudos/{private.id}"

    response = browser.submit(page, f"{page}/hide", data={"reason": "Health details"})

    assert response.status_code == 302
    assert response.headers["Location"] == page
    session.expire_all()
    assert session.get(Kudos, private.id).hidden_reason == "Health details"
    moderation = body(client.get(page))
    assert "Health details" in moderation
    assert SECRET not in moderation

    response = browser.submit(page, f"{page}/restore")

    assert response.status_code == 302
    session.expire_all()
    assert session.get(Kudos, private.id).hidden_at is None
    assert actions(session)[-2:] == ["kudos.hidden", "kudos.restored"]
    assert client.get(f"/kudos/{private.id}").status_code == 404  # still not a reader


def test_an_unknown_kudos_is_404_for_moderation_too(browser, client, org):
    sign_in(client, org["admin"])
    assert client.get("/admin/kudos/999999").status_code == 404
    response = browser.submit("/admin/moderation", "/admin/kudos/999999/hide", data={"reason": "x"})
    assert response.status_code == 404


def test_the_hidden_list_shows_every_hidden_kudos_but_not_private_text(
    client, session, make, org, private
):
    public = make.kudos(org["sender"], [org["teammate"]], message="A public <b>thank you</b>")
    for kudos in (private, public):
        hide_kudos(session, org["boss"], kudos, "Check", now=utcnow(), zone=UTC)
    session.commit()
    sign_in(client, org["admin"])

    page = body(client.get("/admin/moderation"))

    assert f'href="/admin/kudos/{private.id}"' in page
    assert f'href="/admin/kudos/{public.id}"' in page
    assert SECRET not in page
    assert "Private: open it to read it (audited)" in page
    assert "A public &lt;b&gt;thank you&lt;/b&gt;" in page


def test_an_admin_in_the_audience_reads_without_opening(client, session, make, org):
    manager_admin = make.person(name="Mia Manageradmin", admin_granted=True)
    report = make.person(name="Ray Report", manager=manager_admin)
    kudos = make.kudos(org["sender"], [report], message=SECRET, visibility="private")
    sign_in(client, manager_admin)

    assert SECRET in body(client.get(f"/admin/kudos/{kudos.id}"))
    assert "kudos.moderation_viewed" not in actions(session)


def test_opening_a_message_for_moderation_is_deliberate_and_audited(
    browser, client, session, org, private
):
    sign_in(client, org["admin"])
    page = f"/admin/kudos/{private.id}"
    assert "Show message for moderation" in body(client.get(page))

    response = browser.submit(page, f"{page}/open")

    assert response.status_code == 200
    assert SECRET in body(response)
    assert response.headers["Cache-Control"] == "no-store"
    entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert (entry.action, entry.actor_id, entry.target_id) == (
        "kudos.moderation_viewed",
        org["admin"].id,
        private.id,
    )
    assert SECRET not in body(client.get(page))  # each reading is a new, audited choice
    assert client.post(f"{page}/open").status_code == 400  # no CSRF token, no reading


def test_the_opened_message_is_escaped(browser, client, make, org):
    kudos = make.kudos(
        org["sender"], [org["recipient"]], message="<script>alert(1)</script>", visibility="team"
    )
    sign_in(client, org["admin"])

    page = body(browser.submit(f"/admin/kudos/{kudos.id}", f"/admin/kudos/{kudos.id}/open"))

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page


# Reports ------------------------------------------------------------------------


def report(browser, kudos, reason):  # noqa: ANN001, ANN201
    return browser.submit(
        f"/kudos/{kudos.id}", f"/kudos/{kudos.id}/report", data={"reason": reason}
    )


def test_anyone_who_can_see_a_kudos_reports_it_once(browser, client, session, make, org):
    kudos = make.kudos(org["sender"], [org["recipient"]], message=SECRET, visibility="team")
    sign_in(client, org["teammate"])
    assert "Report this kudos" in body(client.get(f"/kudos/{kudos.id}"))

    response = report(browser, kudos, "  It names a colleague's illness  ")

    assert response.status_code == 302
    assert "A moderator will look at it" in body(client.get(response.headers["Location"]))
    saved = session.scalars(select(KudosReport)).one()
    assert (saved.reporter_id, saved.reason) == (
        org["teammate"].id,
        "It names a colleague's illness",
    )
    assert actions(session)[-1] == "kudos.reported"

    again = report(browser, kudos, "Still bad")
    assert "already reported" in body(client.get(again.headers["Location"]))
    assert session.scalar(select(func.count()).select_from(KudosReport)) == 1


@pytest.mark.parametrize(
    ("reason", "saved"),
    [
        ("", False),
        ("   ", False),
        ("x" * MAX_REPORT_REASON_LENGTH, True),
        ("x" * (MAX_REPORT_REASON_LENGTH + 1), False),
        ("bad\x00byte", False),
    ],
)
def test_a_report_needs_a_reason_of_at_most_500_characters(
    browser, client, session, make, org, reason, saved
):
    kudos = make.kudos(org["sender"], [org["recipient"]])
    sign_in(client, org["stranger"])

    response = report(browser, kudos, reason)

    assert response.status_code == 302
    assert session.scalar(select(func.count()).select_from(KudosReport)) == int(saved)


def test_who_cannot_see_a_kudos_cannot_report_it(browser, client, session, make, org, private):
    hidden = make.kudos(org["sender"], [org["recipient"]])
    hide_kudos(session, org["admin"], hidden, "Spam", now=utcnow(), zone=UTC)
    session.commit()
    sign_in(client, org["teammate"])

    for kudos in (private, hidden):
        response = browser.submit("/", f"/kudos/{kudos.id}/report", data={"reason": "Let me"})
        assert response.status_code == 404
    assert session.scalar(select(func.count()).select_from(KudosReport)) == 0


def test_hiding_from_a_report_closes_it(browser, client, session, org, private):
    report_kudos(session, org["recipient"], private, "Too <em>personal</em>", now=utcnow())
    session.commit()
    sign_in(client, org["admin"])

    reports_page = body(client.get("/admin/reports"))
    assert "Too &lt;em&gt;personal&lt;/em&gt;" in reports_page
    assert "Rita Recipient" in reports_page
    assert f'href="/admin/kudos/{private.id}"' in reports_page
    assert SECRET not in reports_page
    assert "1 open" in body(client.get("/admin/moderation"))

    browser.submit(
        f"/admin/kudos/{private.id}", f"/admin/kudos/{private.id}/hide", data={"reason": "Agreed"}
    )

    saved = session.scalars(select(KudosReport)).one()
    session.refresh(saved)
    assert (saved.resolution, saved.resolved_by_id) == ("hidden", org["admin"].id)
    assert "No open reports" in body(client.get("/admin/reports"))


def test_dismissing_reports_keeps_the_kudos(browser, client, session, make, org):
    kudos = make.kudos(org["sender"], [org["recipient"]], message="All fine")
    for person in (org["teammate"], org["stranger"]):
        report_kudos(session, person, kudos, "Hmm", now=utcnow())
    session.commit()
    sign_in(client, org["admin"])

    response = browser.submit(f"/admin/kudos/{kudos.id}", f"/admin/kudos/{kudos.id}/dismiss")

    assert response.status_code == 302
    session.expire_all()
    assert session.get(Kudos, kudos.id).hidden_at is None
    assert set(session.scalars(select(KudosReport.resolution))) == {"dismissed"}
    assert actions(session)[-1] == "kudos.reports_dismissed"
    # Dealt with: the same person may report it again.
    sign_in(client, org["teammate"])
    report(browser, kudos, "It came back")
    assert session.scalar(select(func.count()).select_from(KudosReport)) == 3


# Access to every new page -------------------------------------------------------

ADMIN_ROUTES = [
    ("get", "/admin/reports"),
    ("get", "/admin/kudos/{id}"),
    ("post", "/admin/kudos/{id}/open"),
    ("post", "/admin/kudos/{id}/dismiss"),
    ("post", "/admin/kudos/{id}/hide"),
    ("post", "/admin/kudos/{id}/restore"),
]


@pytest.mark.parametrize(("method", "url"), ADMIN_ROUTES)
def test_admin_routes_by_who_asks(browser, client, session, org, private, method, url):
    target = url.format(id=private.id)

    def ask():  # noqa: ANN202
        if method == "get":
            return client.get(target)
        return browser.submit("/", target, data={"reason": "mine now"})

    if method == "get":
        assert client.get(target).headers["Location"].startswith("/login?next=")
    else:  # a signed-out visitor has no CSRF token: refused before anything else
        assert client.post(target, data={"reason": "x"}).status_code == 400

    for employee in ("recipient", "boss"):  # even those who can read it
        sign_in(client, org[employee])
        assert ask().status_code == 403

    session.expire_all()
    assert session.get(Kudos, private.id).hidden_at is None
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0

    sign_in(client, org["admin"])
    assert ask().status_code in (200, 302)


def test_reporting_by_who_asks(browser, client, session, org, private):
    target = f"/kudos/{private.id}/report"
    assert client.post(target, data={"reason": "x"}).status_code == 400  # signed out: no token
    assert client.get(f"/kudos/{private.id}").headers["Location"].startswith("/login?next=")

    sign_in(client, org["stranger"])
    assert browser.submit("/", target, data={"reason": "x"}).status_code == 404
    sign_in(client, org["admin"])  # being an admin does not make one a reader
    assert browser.submit("/", target, data={"reason": "x"}).status_code == 404
    sign_in(client, org["boss"])
    assert browser.submit("/", target, data={"reason": "x"}).status_code == 302
    assert session.scalar(select(func.count()).select_from(KudosReport)) == 1


def test_after_hiding_the_admin_goes_back_where_they_were(browser, client, session, make, org):
    kudos = make.kudos(org["sender"], [org["recipient"]])
    sign_in(client, org["admin"])

    response = browser.submit(
        f"/kudos/{kudos.id}", f"/admin/kudos/{kudos.id}/hide", data={"reason": "Spam"}
    )
    assert response.headers["Location"] == f"/kudos/{kudos.id}"  # public: they may read it

    page = f"/admin/kudos/{kudos.id}"
    response = browser.submit(page, f"{page}/restore", data={"next": page})
    assert response.headers["Location"] == page
    response = browser.submit(page, f"{page}/restore", data={"next": "https://evil.example/"})
    assert response.headers["Location"] == f"/kudos/{kudos.id}"


# The report service: what each refusal says, what is audited ---------------------


def rejection(session, reporter, kudos, reason: str) -> tuple[dict[str, str], int]:
    with pytest.raises(KudosRejected) as caught:
        report_kudos(session, reporter, kudos, reason, now=utcnow())
    return caught.value.fields, caught.value.status


def test_each_refused_report_says_why_with_its_status(session, make, org, private):
    public = make.kudos(org["sender"], [org["recipient"]])
    stranger = org["stranger"]

    assert rejection(session, stranger, private, "spam") == (
        {"__all__": "There is no such kudos."},
        404,
    )
    assert rejection(session, stranger, public, "  ") == (
        {"reason": "Say what is wrong with it, so a moderator can judge."},
        422,
    )
    assert rejection(session, stranger, public, "x" * 501) == (
        {"reason": "Keep it to 500 characters (now 501)."},
        422,
    )
    assert rejection(session, stranger, public, "spam\x07") == (
        {"reason": "The reason contains invisible control characters."},
        422,
    )
    report_kudos(session, stranger, public, "spam", now=utcnow())
    assert rejection(session, stranger, public, "spam again") == (
        {"__all__": "You have already reported this kudos. A moderator will look at it."},
        409,
    )
    # Someone else's open report of another kudos does not count as theirs.
    other = make.kudos(org["sender"], [org["teammate"]])
    report_kudos(session, org["teammate"], other, "off topic", now=utcnow())
    assert report_kudos(session, stranger, other, "off topic", now=utcnow()).reporter_id == (
        stranger.id
    )


def test_reports_and_their_dismissal_are_audited_and_listed_oldest_first(session, make, org):
    kudos = make.kudos(org["sender"], [org["recipient"]])
    at = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    later = report_kudos(session, org["teammate"], kudos, "rude", now=at + timedelta(hours=1))
    earlier = report_kudos(session, org["stranger"], kudos, "spam", now=at)
    same_time = report_kudos(session, org["boss"], kudos, "spam", now=at)

    assert (earlier.created_at, earlier.reason) == (at, "spam")
    assert open_reports(session) == [earlier, same_time, later]
    assert open_reports(session, kudos) == [earlier, same_time, later]
    other = make.kudos(org["sender"], [org["teammate"]])
    assert open_reports(session, other) == []
    elsewhere = report_kudos(session, org["stranger"], other, "spam", now=at + timedelta(days=1))
    assert dismiss_reports(session, org["admin"], kudos, now=at + timedelta(days=1)) == 3
    assert open_reports(session) == [elsewhere]  # reports of another kudos stay open
    assert dismiss_reports(session, org["admin"], kudos, now=at + timedelta(days=2)) == 0
    assert earlier.resolved_at == at + timedelta(days=1)

    entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    reported = [e for e in entries if e.action == "kudos.reported"][:3]
    assert [(e.actor_id, e.target_type, e.target_id, e.details) for e in reported] == [
        (org["teammate"].id, "kudos", kudos.id, {"report": later.id, "reason": "rude"}),
        (org["stranger"].id, "kudos", kudos.id, {"report": earlier.id, "reason": "spam"}),
        (org["boss"].id, "kudos", kudos.id, {"report": same_time.id, "reason": "spam"}),
    ]
    dismissed = [e for e in entries if e.action == "kudos.reports_dismissed"]
    assert [(e.actor_id, e.target_type, e.target_id, e.details) for e in dismissed] == [
        (org["admin"].id, "kudos", kudos.id, {"reports": 3}),
        (org["admin"].id, "kudos", kudos.id, {"reports": 0}),
    ]


def test_opening_for_moderation_is_audited_with_the_visibility(session, org, private):
    open_for_moderation(session, org["admin"], private)

    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "kudos.moderation_viewed")
    ).one()
    assert (entry.actor_id, entry.target_type, entry.target_id, entry.details) == (
        org["admin"].id,
        "kudos",
        private.id,
        {"visibility": "private"},
    )
