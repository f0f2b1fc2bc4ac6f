"""A tour of every main page: accessible in light and dark, by keyboard, on a phone.

On a desktop, each page is checked with axe-core in light and dark mode,
and Tab must reach every control with a visible focus ring; at 390 px
nothing may scroll sideways. Each page is saved as a screenshot (desktop,
phone, and a few in dark mode) under test-output/screenshots/.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page

from kudos.db import utcnow
from kudos.recognition.services import toggle_reaction
from tests.e2e.conftest import (
    DESKTOP,
    PHONE,
    Site,
    assert_accessible,
    assert_fits_phone,
    assert_keyboard_reaches_everything,
    screenshot,
)


def seed_company(site: Site) -> dict[str, object]:
    """A small, lively company: two teams, a manager, a few weeks of thanks."""
    make = site.make
    platform, finance = make.team("Platform"), make.team("Finance ops")
    engineering = make.department("Engineering")
    maya = site.person(
        "Maya Adams", admin=True, title="Head of Platform", team=platform, department=engineering
    )
    priya = site.person(
        "Priya Raman",
        title="Site reliability engineer",
        team=platform,
        department=engineering,
        manager=maya,
    )
    tom = site.person(
        "Tom Becker", title="Support engineer", team=platform, department=engineering, manager=maya
    )
    lena = site.person("Lena Okafor", title="Finance partner", team=finance)
    omar = site.person("Omar Haddad", title="IT support", team=finance)
    site.prefer(priya, "celebratory", best_way_to_thank="A shout-out in the team channel")
    site.prefer(tom, "low_key", audience="team")
    site.prefer(lena, "celebratory")
    site.prefer(maya, "low_key")
    now = utcnow()
    stories = [
        (
            omar,
            [priya],
            ["responsive"],
            "Replaced my broken laptop in twenty minutes, "
            "with all my files back. You saved my demo!",
            9,
        ),
        (
            lena,
            [tom, priya],
            ["collaborative", "clear-communicator"],
            "Thank you for walking "
            "finance through the new cost dashboards. Every question answered, "
            "and nobody felt silly asking.",
            6,
        ),
        (
            priya,
            [omar],
            ["caring"],
            "Checked in on me after the outage night. Small thing, big difference.",
            4,
        ),
        (
            tom,
            [lena],
            ["competent", "ownership"],
            "Sorted the vendor invoice mess before "
            "quarter end, and wrote down how so it never happens again.",
            2,
        ),
        (
            maya,
            [priya],
            ["mentor"],
            "Your pairing sessions with the new hires are the reason they shipped in week one.",
            1,
        ),
    ]
    kudos = []
    for sender, recipients, values, message, days in stories:
        kudos.append(
            make.kudos(
                sender,
                recipients,
                message=message,
                values=values,
                at=now - timedelta(days=days, hours=3),
            )
        )
    for person in (tom, lena, maya):
        toggle_reaction(site.session, person, kudos[0], now=now)
    toggle_reaction(site.session, omar, kudos[1], now=now)
    site.session.commit()
    return {"maya": maya, "priya": priya, "platform": platform, "kudos": kudos}


DARK_SCREENSHOTS = {"feed", "compose", "leaderboard", "onboarding"}


def check_page(page: Page, name: str, problems: list[str], *, phone: bool = False) -> None:
    # The markup and colours are the same at every width: axe runs on the
    # desktop, in light and dark; the phone pass checks the layout. (The
    # first journey runs axe at 390 px too.)
    for scheme in () if phone else ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        try:
            assert_accessible(page, f"{name} ({'phone' if phone else 'desktop'}, {scheme})")
        except AssertionError as error:
            problems.append(str(error))
        if scheme == "dark" and name in DARK_SCREENSHOTS:
            screenshot(page, f"{name}-desktop-dark")
    page.emulate_media(color_scheme="light")
    if not phone:
        try:
            assert_keyboard_reaches_everything(page)
        except AssertionError as error:
            problems.append(str(error))
    if phone:
        try:
            assert_fits_phone(page)
        except AssertionError as error:
            problems.append(str(error))
    screenshot(page, f"{name}-{'phone' if phone else 'desktop'}")


@pytest.mark.looks
def test_every_page_is_accessible_in_light_and_dark_and_fits_a_phone(site: Site):
    company = seed_company(site)
    first_kudos = company["kudos"][0]
    pages = {
        "feed": "/",
        "team": f"/teams/{company['platform'].slug}",
        "profile": f"/people/{company['priya'].id}",
        "value": "/values/mentor",
        "value-empty": "/values/integrity",
        "compose": f"/kudos/new?to={company['priya'].id}",
        "kudos": f"/kudos/{first_kudos.id}",
        "onboarding": "/onboarding",
        "settings": "/settings/recognition",
        "tokens": "/settings/tokens",
        "api-reference": "/api/v1/docs",
        "leaderboard": "/leaderboard",
        "admin": "/admin/",
        "reports": "/admin/reports",
        "moderation": f"/admin/kudos/{first_kudos.id}",
        "reciprocity": "/admin/reciprocity",
        "summary": "/manager/summary",
        "not-found": "/people/999999",
    }
    problems: list[str] = []
    page = site.sign_in("maya")
    signed_out = site.browser()
    for viewport, phone in ((DESKTOP, False), (PHONE, True)):
        page.set_viewport_size(viewport)
        for name, path in pages.items():
            page.goto(site.url(path))
            check_page(page, name, problems, phone=phone)
        signed_out.set_viewport_size(viewport)
        signed_out.goto(site.url("/login"))
        check_page(signed_out, "login", problems, phone=phone)
    assert not problems, "\n".join(problems)
