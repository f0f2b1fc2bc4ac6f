"""The header of every page: the navigation marks the section shown, and
each person sees their own name and links."""

from __future__ import annotations

import re

import pytest

from tests.conftest import sign_in

NAV = re.compile(r'<a href="([^"]*)"\s*(aria-current="page")?>([^<]+)</a>')


def navigation(page: str) -> dict[str, tuple[str, bool]]:
    """The main navigation's items: text -> (address, marked as the page shown)."""
    nav = page.split('<nav class="site-nav"', 1)[1].split("</nav>", 1)[0]
    return {text: (href, bool(current)) for href, current, text in NAV.findall(nav)}


@pytest.fixture
def boss(make):
    platform = make.team("Platform")
    boss = make.person(name="Bea Boss", team=platform, admin_granted=True)
    make.person(name="Rob Report", team=platform, manager=boss)
    return boss


@pytest.mark.parametrize(
    ("address", "current"),
    [
        ("/", "Feed"),
        ("/teams/platform", "My team"),
        ("/leaderboard", "Leaderboard"),
        ("/people/{me}", "My kudos"),
        ("/people/{other}", None),
        ("/manager/summary", "Team summary"),
        ("/admin/", "Admin"),
        ("/settings", None),
    ],
)
def test_the_header_marks_the_section_shown(client, make, boss, address, current):
    other = make.person(name="Otto Other", team=make.team("Sales"))
    sign_in(client, boss)
    client.get("/")  # the signed-in person is kept by then, as on most requests
    page = client.get(address.format(me=boss.id, other=other.id)).get_data(as_text=True)

    items = navigation(page)

    assert list(items) == ["Feed", "My team", "Leaderboard", "My kudos", "Team summary", "Admin"]
    assert [text for text, (_, shown) in items.items() if shown] == ([current] if current else [])
    assert items["My team"][0] == "/teams/platform"
    assert items["My kudos"][0] == f"/people/{boss.id}"


def test_another_teams_page_is_not_my_team(client, make, boss):
    make.team("Sales")
    sign_in(client, boss)
    items = navigation(client.get("/teams/sales").get_data(as_text=True))
    assert not any(shown for _, shown in items.values())


def test_each_person_sees_their_own_name_and_links(client, make, boss):
    """Two people of the same kind one after the other, each with their own
    name (escaped), initials and addresses."""
    mallory = make.person(name="<b>Mallory</b> Doe", team=boss.team, admin_granted=True)
    make.person(name="Mo Report", manager=mallory)
    for person in (boss, mallory, boss):
        sign_in(client, person)
        page = client.get("/leaderboard").get_data(as_text=True)
        account = page.split('<div class="account">', 1)[1].split("</div>", 1)[0]
        assert f'<span class="account__name">{person.name}</span>' in account.replace(
            "&lt;b&gt;", "<b>"
        ).replace("&lt;/b&gt;", "</b>")
        assert "<b>" not in account  # escaped, never markup
        assert f'data-hue="{person.id % 8}">{person.initials}</span>' in account
        assert navigation(page)["My kudos"][0] == f"/people/{person.id}"


def test_people_see_only_the_links_for_them(client, make):
    loner = make.person(name="Lou Loner")
    sign_in(client, loner)
    assert list(navigation(client.get("/").get_data(as_text=True))) == [
        "Feed",
        "Leaderboard",
        "My kudos",
    ]


def test_the_header_signs_out_with_this_sessions_csrf_token(browser, make, boss):
    sign_in(browser.client, boss)
    token = browser.csrf_token("/leaderboard")  # the header's sign-out form comes first

    refused = browser.client.post("/logout", data={"csrf_token": token[::-1]})
    signed_out = browser.client.post("/logout", data={"csrf_token": token})

    assert refused.status_code == 400
    assert signed_out.status_code == 302
    assert browser.client.get("/leaderboard").status_code == 302  # to sign in again
