"""A single kudos, reactions, deletion, moderation, and the team, person and value feeds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kudos.audit.models import AuditEntry
from kudos.db import utcnow
from kudos.recognition.models import Kudos, Reaction
from tests.conftest import sign_in


@pytest.fixture
def org(make):
    platform, sales = make.team("Platform"), make.team("Sales")
    boss = make.person(name="Boss Person", team=platform)
    return {
        "sender": make.person(name="Sam Sender", team=sales),
        "recipient": make.person(name="Rita Recipient", team=platform, manager=boss),
        "teammate": make.person(name="Tia Teammate", team=platform),
        "manager": boss,
        "other_team": make.person(name="Otto Other", team=sales),
        "unrelated": make.person(name="Una Unrelated"),
        "admin": make.person(name="Ada Admin", admin_granted=True),
    }


SEES = {
    "public": {"sender", "recipient", "teammate", "manager", "other_team", "unrelated", "admin"},
    "team": {"sender", "recipient", "teammate", "manager"},
    "private": {"sender", "recipient", "manager"},
}


@pytest.mark.parametrize("visibility", ["public", "team", "private"])
def test_every_kind_of_viewer_sees_exactly_what_they_may(client, make, org, visibility):
    kudos = make.kudos(
        org["sender"], [org["recipient"]], message="Secret sauce", visibility=visibility
    )

    seen = {}
    for kind, person in org.items():
        sign_in(client, person)
        pages = {
            "kudos page": client.get(f"/kudos/{kudos.id}"),
            "company feed": client.get("/"),
            "team feed": client.get("/teams/platform"),
            "profile": client.get(f"/people/{org['recipient'].id}"),
            "value feed": client.get("/values/responsive"),
        }
        seen[kind] = {
            name
            for name, response in pages.items()
            if "Secret sauce" in response.get_data(as_text=True)
        }
        if kind not in SEES[visibility]:
            assert pages["kudos page"].status_code == 404

    assert {kind for kind, where in seen.items() if where} == SEES[visibility]
    assert all(len(where) == 5 for kind, where in seen.items() if kind in SEES[visibility])


def test_the_kudos_page_shows_who_applauded(client, make, org):
    kudos = make.kudos(org["sender"], [org["recipient"]])
    sign_in(client, org["teammate"])
    page = client.get("/").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]

    client.post(f"/kudos/{kudos.id}/react", data={"csrf_token": token})

    page = client.get(f"/kudos/{kudos.id}").get_data(as_text=True)
    assert "Tia Teammate" in page.split("Applause", 1)[1]


def test_reacting_toggles_one_reaction_per_person(client, session, make, org):
    kudos = make.kudos(org["sender"], [org["recipient"]])
    sign_in(client, org["teammate"])
    page = client.get("/").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]

    first = client.post(f"/kudos/{kudos.id}/react", data={"csrf_token": token, "next": "/#x"})
    second = client.post(
        f"/kudos/{kudos.id}/react",
        data={"csrf_token": token},
        headers={"Accept": "application/json"},
    )
    third = client.post(
        f"/kudos/{kudos.id}/react",
        data={"csrf_token": token},
        headers={"Accept": "application/json"},
    )

    assert first.status_code == 302
    assert first.headers["Location"] == "/#x"
    assert second.json == {"reacted": False, "count": 0}
    assert third.json == {"reacted": True, "count": 1}
    assert session.scalar(select(func.count()).select_from(Reaction)) == 1


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", ""])
def test_reacting_never_sends_you_off_the_site(client, make, org, target):
    kudos = make.kudos(org["sender"], [org["recipient"]])
    sign_in(client, org["teammate"])
    page = client.get("/").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]

    answer = client.post(f"/kudos/{kudos.id}/react", data={"csrf_token": token, "next": target})

    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/")
    assert "evil.example" not in answer.headers["Location"]


def test_reacting_needs_csrf_and_visibility(client, make, org):
    kudos = make.kudos(org["sender"], [org["recipient"]], visibility="private")
    sign_in(client, org["unrelated"])
    page = client.get("/").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]

    assert client.post(f"/kudos/{kudos.id}/react").status_code == 400
    assert client.post(f"/kudos/{kudos.id}/react", data={"csrf_token": token}).status_code == 404


def test_the_sender_may_delete_within_fifteen_minutes(browser, client, session, make, org):
    kudos = make.kudos(org["sender"], [org["recipient"]], at=utcnow() - timedelta(minutes=10))
    sign_in(client, org["sender"])
    assert "Delete this kudos" in client.get(f"/kudos/{kudos.id}").get_data(as_text=True)

    response = browser.submit(f"/kudos/{kudos.id}", f"/kudos/{kudos.id}/delete")

    assert response.status_code == 302
    assert session.scalar(select(func.count()).select_from(Kudos)) == 0
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "kudos.deleted")).one()
    assert entry.actor_id == org["sender"].id


def test_after_fifteen_minutes_deleting_is_refused(browser, client, session, make, org):
    kudos = make.kudos(org["sender"], [org["recipient"]], at=utcnow() - timedelta(minutes=16))
    sign_in(client, org["sender"])
    assert "Delete this kudos" not in client.get(f"/kudos/{kudos.id}").get_data(as_text=True)

    response = browser.submit(
        f"/kudos/{kudos.id}", f"/kudos/{kudos.id}/delete", follow_redirects=True
    )

    assert "first 15 minutes" in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Kudos)) == 1


def test_only_the_sender_may_delete(browser, client, session, make, org):
    kudos = make.kudos(org["sender"], [org["recipient"]])
    sign_in(client, org["recipient"])

    response = browser.submit(
        f"/kudos/{kudos.id}", f"/kudos/{kudos.id}/delete", follow_redirects=True
    )

    assert "Only the sender" in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Kudos)) == 1


def test_an_admin_hides_a_kudos_and_it_disappears_everywhere(browser, client, session, make, org):
    kudos = make.kudos(org["sender"], [org["recipient"]], message="Needs moderation")
    sign_in(client, org["admin"])

    response = browser.submit(
        f"/kudos/{kudos.id}",
        f"/admin/kudos/{kudos.id}/hide",
        data={"reason": "Mentions a medical condition"},
    )

    assert response.status_code == 302
    session.expire_all()
    assert session.get(Kudos, kudos.id).hidden_reason == "Mentions a medical condition"
    for viewer in (org["sender"], org["recipient"], org["teammate"]):
        sign_in(client, viewer)
        for url in (
            "/",
            "/teams/platform",
            f"/people/{org['recipient'].id}",
            f"/people/{org['sender'].id}?tab=given",
            "/values/responsive",
        ):
            assert "Needs moderation" not in client.get(url).get_data(as_text=True), url
        assert client.get(f"/kudos/{kudos.id}").status_code == 404
    sign_in(client, org["admin"])
    admin_page = client.get("/admin/moderation").get_data(as_text=True)
    assert "Mentions a medical condition" in admin_page
    assert "kudos.hidden" in admin_page
    assert "Hidden by a moderator" in client.get(f"/kudos/{kudos.id}").get_data(as_text=True)


def test_an_admin_restores_a_hidden_kudos(browser, client, session, make, org):
    kudos = make.kudos(org["sender"], [org["recipient"]], message="Back again")
    sign_in(client, org["admin"])
    browser.submit(f"/kudos/{kudos.id}", f"/admin/kudos/{kudos.id}/hide", data={"reason": "x"})

    browser.submit(f"/kudos/{kudos.id}", f"/admin/kudos/{kudos.id}/restore")

    sign_in(client, org["teammate"])
    assert "Back again" in client.get("/").get_data(as_text=True)
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions[-2:] == ["kudos.hidden", "kudos.restored"]


def test_hiding_needs_a_reason(browser, client, session, make, org):
    kudos = make.kudos(org["sender"], [org["recipient"]])
    sign_in(client, org["admin"])

    response = browser.submit(
        f"/kudos/{kudos.id}",
        f"/admin/kudos/{kudos.id}/hide",
        data={"reason": "  "},
        follow_redirects=True,
    )

    assert "Say why it is hidden" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Kudos, kudos.id).hidden_at is None


@pytest.mark.parametrize(
    "url", ["/admin/moderation", "/admin/kudos/{id}/hide", "/admin/kudos/{id}/restore"]
)
def test_people_who_are_not_admins_get_403(browser, client, session, make, org, url):
    kudos = make.kudos(org["sender"], [org["recipient"]])
    sign_in(client, org["recipient"])
    target = url.format(id=kudos.id)

    if target == "/admin/moderation":
        response = client.get(target)
    else:
        response = browser.submit("/", target, data={"reason": "mine now"})

    assert response.status_code == 403
    session.expire_all()
    assert session.get(Kudos, kudos.id).hidden_at is None


def test_profile_tabs_show_received_and_given(client, make, org):
    make.kudos(org["sender"], [org["recipient"]], message="Given by Sam")
    make.kudos(org["recipient"], [org["teammate"]], message="Given by Rita")
    sign_in(client, org["unrelated"])

    received = client.get(f"/people/{org['recipient'].id}").get_data(as_text=True)
    given = client.get(f"/people/{org['recipient'].id}?tab=given").get_data(as_text=True)

    assert "Given by Sam" in received
    assert "Given by Rita" not in received
    assert "Given by Rita" in given
    assert "Given by Sam" not in given
    assert "Reports to" in received
    assert "Boss Person" in received
    assert client.get(f"/people/{org['recipient'].id}?tab=sideways").status_code == 400


def test_unknown_people_teams_values_and_kudos_are_404(client, signed_in):
    for url in ("/people/999999", "/teams/nope", "/values/nope", "/kudos/999999"):
        assert client.get(url).status_code == 404, url


def test_team_feed_lists_members_and_kudos_to_them(client, make, org):
    make.kudos(org["sender"], [org["teammate"]], message="For the platform team")
    make.kudos(org["recipient"], [org["sender"]], message="For sales")
    sign_in(client, org["unrelated"])

    page = client.get("/teams/platform").get_data(as_text=True)

    assert "For the platform team" in page
    assert "For sales" not in page
    assert "Tia Teammate" in page
    assert "Rita Recipient" in page


def test_empty_feeds_invite_action(client, signed_in):
    page = client.get("/values/mentor").get_data(as_text=True)

    assert "Be the first to thank them for it" in page
    assert 'href="/kudos/new?value=mentor"' in page
    assert "Thank someone for Mentor" in page


def test_an_empty_profile_invites_thanking_that_person(client, signed_in, make):
    priya = make.person(name="Priya Raman")

    page = client.get(f"/people/{priya.id}").get_data(as_text=True)

    assert "Nobody has thanked Priya here yet" in page
    assert f'href="/kudos/new?to={priya.id}"' in page


def test_keyset_pages_stay_stable_while_new_kudos_arrive(client, make, org, monkeypatch):
    from kudos.recognition import feed

    monkeypatch.setattr(feed, "PAGE_SIZE", 3)
    now = utcnow()
    for n in range(7):
        make.kudos(
            org["sender"],
            [org["recipient"]],
            message=f"Old number {n}.",
            at=now - timedelta(hours=n + 1),
        )
    sign_in(client, org["unrelated"])
    first = client.get("/").get_data(as_text=True)
    older = "/?before=" + first.split('href="/?before=', 1)[1].split('"', 1)[0]

    for n in range(4):  # new kudos arrive between page views
        make.kudos(org["sender"], [org["recipient"]], message=f"New number {n}.", at=now)
    second = client.get(older).get_data(as_text=True)

    assert [n for n in range(7) if f"Old number {n}." in first] == [0, 1, 2]
    assert [n for n in range(7) if f"Old number {n}." in second] == [3, 4, 5]
    assert "New number" not in second
    # Back to the newest from an older page only.
    assert 'href="/">Newest</a>' in second
    assert "Newest</a>" not in first
