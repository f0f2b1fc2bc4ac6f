"""The admin console in a real browser: every page at 1280 and 390 px, light
and dark, passes axe with no serious or critical problem and never scrolls
sideways (with very long names about); and an admin's day: retire a value,
import the directory (checked, previewed, confirmed), rename a team."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from kudos.db import utcnow
from kudos.people.models import Person, Team
from kudos.recognition.models import Value
from tests.e2e.conftest import Site, assert_accessible, screenshot

WIDE = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
LONG_NAME = (
    "Wolfeschlegelsteinhausenbergerdorffwelchevoralternwarengewissenhaft"
    "schaferswessenschafewarenwohlgepflege"
)


def seed(site: Site) -> dict:
    make = site.make
    platform = make.team("Platform and developer experience for every product team")
    finance = make.team("Finance ops")
    engineering = make.department("Engineering")
    admin = site.person(
        "Maya Adams", admin=True, team=platform, department=engineering, title="Head of Platform"
    )
    long = site.person(
        LONG_NAME, login="wolf", team=platform, department=engineering, manager=admin
    )
    tom = site.person("Tom Becker", team=finance, manager=admin, title="Support engineer")
    now = utcnow()
    for days, (sender, recipients, values) in enumerate(
        [
            (tom, [long], ["responsive"]),
            (long, [tom, admin], ["caring", "mentor"]),
            (admin, [long], ["ownership"]),
        ]
    ):
        make.kudos(sender, recipients, values=values, at=now - timedelta(hours=days + 1))
    site.session.commit()
    return {"admin": admin, "long": long, "tom": tom, "platform": platform, "finance": finance}


def admin_pages(site: Site, people: dict) -> list[str]:
    value = site.session.scalars(select(Value).where(Value.slug == "caring")).one()
    return [
        "/admin/",
        "/admin/people",
        f"/admin/people/{people['long'].id}",
        "/admin/teams",
        f"/admin/teams/{people['platform'].id}",
        "/admin/departments",
        "/admin/values",
        f"/admin/values/{value.id}/edit",
        f"/admin/values/{value.id}/retire",
        "/admin/import",
        "/admin/moderation",
        "/admin/reports",
        "/admin/reciprocity",
    ]


@pytest.mark.looks
@pytest.mark.parametrize("viewport", [WIDE, PHONE], ids=["1280", "390"])
def test_every_admin_page_is_accessible_and_fits(site: Site, viewport):
    people = seed(site)
    pages = admin_pages(site, people)
    page = site.sign_in("maya", viewport=viewport)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for path in pages:
            page.goto(site.url(path))
            assert_accessible(page, f"{path} at {viewport['width']} px, {scheme}")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], (
                f"{path} is {width} px wide at {viewport['width']} px ({scheme})"
            )
    page.emulate_media(color_scheme="light")
    kind = "phone" if viewport is PHONE else "desktop"
    for path, name in [
        ("/admin/", "overview"),
        ("/admin/people", "people"),
        ("/admin/values", "values"),
    ]:
        page.goto(site.url(path))
        screenshot(page, f"admin-{name}-{kind}")


def test_an_admin_retires_a_value_imports_the_directory_and_renames_a_team(site: Site, tmp_path):
    people = seed(site)
    page = site.sign_in("maya", viewport=WIDE)

    # Retire a value: the confirmation says how many kudos carry it.
    page.goto(site.url("/admin/values"))
    page.get_by_role("link", name="Retire Caring").click()
    expect(page.locator("main")).to_contain_text("1 kudos carry Caring")
    page.get_by_role("button", name="Retire Caring").click()
    expect(page.locator(".flash--success")).to_contain_text("Caring is retired")
    page.goto(site.url("/kudos/new"))
    expect(page.get_by_text("Caring", exact=True)).to_have_count(0)

    # Import: a bad file lists every problem; a good one is previewed first.
    bad = tmp_path / "bad.csv"
    bad.write_text("email,name,title,department,team,manager_email\nnope,,,,,\n")
    page.goto(site.url("/admin/import"))
    page.set_input_files("input[type=file]", str(bad))
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was imported: 2 problems")
    good = tmp_path / "people.csv"
    good.write_text(
        "email,name,title,department,team,manager_email\n"
        "nina@acme.example.com,Nina New,Analyst,Finance,Finance ops,maya@acme.example.com\n"
    )
    page.set_input_files("input[type=file]", str(good))
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator("main")).to_contain_text("1 created, 0 updated")
    expect(page.locator("main")).to_contain_text("nina@acme.example.com")
    site.session.commit()
    assert (
        site.session.scalar(select(Person).where(Person.email == "nina@acme.example.com")) is None
    )
    site.session.commit()  # no read left open: SQLite would keep the server from writing
    page.get_by_role("button", name="Import now").click()
    expect(page.locator(".flash--success")).to_contain_text("Directory imported: 1 created")
    site.session.commit()
    nina = site.session.scalars(select(Person).where(Person.email == "nina@acme.example.com")).one()
    assert nina.manager_id == people["admin"].id
    site.session.commit()

    # Rename a team: old links lead to the new name.
    old_slug = people["platform"].slug
    page.goto(site.url(f"/admin/teams/{people['platform'].id}"))
    page.get_by_label("New name").fill("Platform")
    page.get_by_role("button", name="Rename").click()
    expect(page.locator(".flash--success")).to_contain_text("is now Platform")
    page.goto(site.url(f"/teams/{old_slug}"))
    assert page.url.endswith("/teams/platform")
    site.session.commit()
    site.session.expire_all()
    assert site.session.get(Team, people["platform"].id).name == "Platform"
    site.session.commit()
