"""Layout at desktop and phone widths, for the people whose pages are the fullest.

A manager, an admin and two people with one-word names of 80+ characters
open every page of ``PAGES`` (admins also ``ADMIN_PAGES`` and every admin
page the app has that takes no argument, found in its URL map) over a month
full of kudos, at 1280 and 390 px: no page may scroll sideways. The header is
one row on a desktop for everyone and never overlaps the demo banner; on a
phone its parts never overlap either. The summary's chart labels are
readable and the internal-customers rows even.

To check a new page, add it to ``PAGES`` or ``ADMIN_PAGES`` (an admin page
without arguments, such as ``/admin/values``, is checked without being
listed). Screenshots go to test-output/screenshots/layout-*.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page

from kudos.db import utcnow
from kudos.timeutil import Month
from tests.conftest import engine_name
from tests.e2e.conftest import PHONE, Site, screenshot

WIDE = {"width": 1280, "height": 900}
DESKTOP_WIDTHS = (1024, 1280, 1440)
VIEWPORTS = {"desktop": WIDE, "phone": PHONE}

# One word each, longer than any line: they must wrap, not push the page wider.
LONG_EMPLOYEE = (
    "Wolfeschlegelsteinhausenbergerdorffwelchevoralternwarengewissenhaftschafers"
    "wessenschafewarenwohlgepflegeundsorgfaltigkeit"
)
LONG_ADMIN = (
    "Venkatanarasimharajuvaripetasrinivasaraghavendrasubrahmanyamvenkatachalapathisundaramurthy"
)
LONG_TEAM = "Platformreliabilityandinfrastructureoperationsengineeringguild"
LONG_WORD = "https://wiki.example.com/" + "runbooks/" * 14 + "checkout-latency"

# Pages everyone opens; {names} are filled in from the seeded company.
PAGES: dict[str, str] = {
    "feed": "/",
    "profile": "/people/{long_employee}",
    "profile-given": "/people/{long_admin}?tab=given",
    "team": "/teams/{team}",
    "value": "/values/mentor",
    "leaderboard": "/leaderboard",
    "compose": "/kudos/new?to={long_employee}",
    "kudos": "/kudos/{kudos}",
    "settings": "/settings/recognition",
    "tokens": "/settings/tokens",
}
# Pages for people with reports (and admins).
MANAGER_PAGES: dict[str, str] = {
    "summary": "/manager/summary",
}
# Pages only admins open, besides every admin page without arguments.
ADMIN_PAGES: dict[str, str] = {
    "summary-of-another": "/manager/summary?manager={manager}&indirect=true",
    "moderation": "/admin/kudos/{kudos}",
}


def admin_pages_without_arguments(site: Site) -> dict[str, str]:
    """Every page under /admin that needs no argument, as the app has them now."""
    return {
        "admin-"
        + (rule.rule.removeprefix("/admin").strip("/").replace("/", "-") or "home"): rule.rule
        for rule in site.server.app.url_map.iter_rules()
        if rule.rule.startswith("/admin")
        and not rule.arguments
        and "GET" in (rule.methods or ())
        and not rule.rule.endswith(".csv")
    }


# A month full of kudos -------------------------------------------------------


def moments_this_month(count: int) -> Iterator[datetime]:
    """``count`` moments spread over this month so far (UTC, the server's
    zone), oldest first: never in the future, also on the first of a month."""
    now = utcnow()
    start, _ = Month.containing(now, now.tzinfo).bounds(now.tzinfo)
    span = now - timedelta(seconds=5) - start
    for index in range(count):
        yield start + span * (index + 1) / (count + 1)


def seed_busy_month(site: Site) -> dict[str, Any]:
    make = site.make
    engineering = make.department("Engineering")
    others = [make.department(name) for name in ("Finance", "Sales", "IT", "People")]
    team = make.team(LONG_TEAM)
    maya = site.person(
        "Maya Adams", admin=True, title="Head of Engineering", team=team, department=engineering
    )
    mona = site.person(
        "Mona Manager",
        title="Engineering manager",
        team=team,
        department=engineering,
        manager=maya,
    )
    long_employee = site.person(
        LONG_EMPLOYEE,
        login="longemployee",
        title="Site reliability engineer",
        team=team,
        department=engineering,
        manager=mona,
    )
    long_admin = site.person(
        LONG_ADMIN,
        login="longadmin",
        admin=True,
        title="Staff engineer",
        team=team,
        department=engineering,
        manager=mona,
    )
    eve = site.person(
        "Eve Employee", title="Engineer", team=team, department=engineering, manager=long_admin
    )
    reports = [
        site.person(name, title="Engineer", team=team, department=engineering, manager=mona)
        for name in ("Priya Raman", "Tom Becker", "Ana Silva", "Ben Okafor")
    ]
    outsiders = [
        site.person(
            f"{first} {department.name}",
            title="Partner",
            team=make.team(f"{department.name} team"),
            department=department,
        )
        for first, department in zip(("Fay", "Sam", "Ivo", "Pia"), others, strict=True)
    ]
    site.prefer(long_employee, "celebratory", best_way_to_thank="Read " + LONG_WORD)
    site.prefer(long_admin, "low_key", audience="team", best_way_to_thank=LONG_ADMIN)
    site.prefer(mona, "low_key")
    site.prefer(reports[0], "celebratory", best_way_to_thank="A shout-out in the channel")

    team_people = [long_employee, long_admin, eve, *reports]
    values = ["responsive", "caring", "competent", "integrity", "collaborative", "mentor"]
    messages = [
        "Fixed the checkout latency in an afternoon and wrote it all down: " + LONG_WORD,
        "Thank you for answering every question about the new budget, patiently.",
        LONG_ADMIN + " " + LONG_EMPLOYEE,
        "Paired with me on the migration until it was done.\nThen stayed for the retro.",
    ]
    plan: list[tuple[Any, list[Any]]] = []
    for index in range(36):
        sender = (team_people + outsiders + [mona])[index % 12]
        pool = [person for person in team_people + outsiders if person.id != sender.id]
        recipients = [pool[(index * 5 + step) % len(pool)] for step in range(1 + index % 3)]
        plan.append((sender, recipients))
    # Cards whose every name is long.
    plan.append((long_admin, [long_employee]))
    plan.append((long_employee, [long_admin, mona, eve]))
    plan.append((outsiders[0], [long_employee, long_admin]))
    kudos = [
        make.kudos(
            sender,
            list(dict.fromkeys(recipients)),
            message=messages[index % len(messages)],
            values=[values[index % len(values)], values[(index + 2) % len(values)]],
            at=moment,
        )
        for index, ((sender, recipients), moment) in enumerate(
            zip(plan, moments_this_month(len(plan)), strict=True)
        )
    ]
    return {
        # Who signs in as whom: "long-admin" is also a manager.
        "logins": {
            "employee": "eve",
            "manager": "mona",
            "admin": "maya",
            "long": "longemployee",
            "long-admin": "longadmin",
        },
        "fields": {
            "long_employee": long_employee.id,
            "long_admin": long_admin.id,
            "team": team.slug,
            "kudos": kudos[-2].id,
            "manager": mona.id,
        },
    }


@pytest.fixture
def busy_month(site: Site) -> dict[str, Any]:
    return seed_busy_month(site)


@contextmanager
def demo_banner(site: Site) -> Iterator[None]:
    """The demo banner on every page, as ``kudos demo`` shows it (sign in
    before: the sign-in page is another in demo mode)."""
    config = site.server.app.config
    config["DEMO"] = True
    try:
        yield
    finally:
        config["DEMO"] = False


# What is measured on a page ---------------------------------------------------

SIDEWAYS_JS = """() => {
    const root = document.documentElement, width = root.clientWidth;
    if (root.scrollWidth <= width) return null;
    const name = el => el.tagName.toLowerCase()
        + (typeof el.className === 'string' && el.className.trim()
           ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
    // The outermost elements that stick out: where a fix belongs.
    const culprits = [...document.body.querySelectorAll('*')].filter(el => {
        const parent = el.parentElement;
        return el.getBoundingClientRect().right > width + 0.5
            && parent && parent.getBoundingClientRect().right <= width + 0.5;
    }).slice(0, 4).map(el => `${name(el)} to ${Math.round(el.getBoundingClientRect().right)} px`);
    return `${root.scrollWidth} px wide at ${width} px; sticking out: ${culprits.join(', ')}`;
}"""

HEADER_JS = """() => {
    const box = el => { const r = el.getBoundingClientRect();
                        return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; };
    const header = document.querySelector('.site-header');
    const banner = document.querySelector('.demo-banner');
    const parts = [...header.querySelectorAll('.brand, .site-nav li, .account')].map(box);
    return {header: box(header), height: header.offsetHeight,
            banner: banner ? box(banner) : null, parts,
            links: [...header.querySelectorAll('.site-nav a')].map(a => a.textContent.trim())};
}"""


def sideways_scroll(page: Page) -> str | None:
    return page.evaluate(SIDEWAYS_JS)


def header_problems(page: Page, *, one_row: bool) -> list[str]:
    """What is wrong with the header as laid out now."""
    shape = page.evaluate(HEADER_JS)
    parts = shape["parts"]
    problems = []
    if shape["banner"] and shape["banner"]["bottom"] > shape["header"]["top"] + 0.5:
        problems.append(f"the demo banner overlaps the header: {shape['banner']} {shape['header']}")
    for index, one in enumerate(parts):
        for other in parts[index + 1 :]:
            overlap_x = min(one["right"], other["right"]) - max(one["left"], other["left"])
            overlap_y = min(one["bottom"], other["bottom"]) - max(one["top"], other["top"])
            if overlap_x > 0.5 and overlap_y > 0.5:
                problems.append(f"header parts overlap: {one} and {other}")
    if one_row and max(p["top"] for p in parts) >= min(p["bottom"] for p in parts):
        problems.append(f"the header is not one row: {parts}")
    return problems


def chart_label_sizes(page: Page) -> list[float]:
    """The rendered size (px) of every visible text in the summary's charts."""
    return page.evaluate(
        """() => [...document.querySelectorAll('svg.chart text')]
            .filter(t => t.getClientRects().length)
            .map(t => t.getScreenCTM().a * parseFloat(getComputedStyle(t).fontSize))"""
    )


# The tests -------------------------------------------------------------------


@pytest.mark.looks
def test_no_page_scrolls_sideways_for_managers_admins_and_long_names(
    site: Site, busy_month: dict[str, Any]
):
    fields = busy_month["fields"]
    viewers = {who: login for who, login in busy_month["logins"].items() if who != "employee"}
    admin_pages = ADMIN_PAGES | admin_pages_without_arguments(site)
    problems: list[str] = []
    checked: set[str] = set()
    for who, login in viewers.items():
        page = site.sign_in(login, viewport=WIDE)
        pages = PAGES | ({} if who == "long" else MANAGER_PAGES)
        # The console once, by the admin whose long name is the harder case.
        pages |= admin_pages if who == "long-admin" else {}
        for width_name, viewport in VIEWPORTS.items():
            page.set_viewport_size(viewport)
            for name, path in pages.items():
                response = page.goto(site.url(path.format(**fields)))
                assert response is not None
                if "text/html" not in response.headers.get("content-type", ""):
                    continue
                assert response.ok, f"{who} on {path}: {response.status}"
                checked.add(name)
                problem = sideways_scroll(page)
                if problem:
                    problems.append(f"{who}, {name} ({path}), {width_name}: {problem}")
                if who == "long-admin" and engine_name() == "sqlite":
                    # The same pages on both engines: saved once.
                    screenshot(page, f"layout-{name}-{width_name}")
    assert not problems, "\n".join(problems)
    assert {*PAGES, *MANAGER_PAGES, *admin_pages} <= checked


@pytest.mark.looks
def test_the_header_is_one_row_on_a_desktop_for_every_role_and_clears_the_demo_banner(
    site: Site, busy_month: dict[str, Any]
):
    pages = {who: site.sign_in(login, viewport=WIDE) for who, login in busy_month["logins"].items()}
    heights: dict[str, dict[int, int]] = {}
    problems: list[str] = []
    with demo_banner(site):
        for who, page in pages.items():
            for width in DESKTOP_WIDTHS:
                page.set_viewport_size({"width": width, "height": 800})
                page.goto(site.url("/"))
                assert page.locator(".demo-banner").is_visible()
                heights.setdefault(who, {})[width] = page.evaluate(HEADER_JS)["height"]
                problems += [f"{who} at {width}: {p}" for p in header_problems(page, one_row=True)]
            page.set_viewport_size(PHONE)
            page.goto(site.url("/"))
            problems += [f"{who} at 390: {p}" for p in header_problems(page, one_row=False)]
            screenshot(page, f"layout-header-{who}-phone")
    # The manager and the admin have the links that used to push the header onto two rows.
    assert pages["admin"].evaluate(HEADER_JS)["links"][-2:] == ["Team summary", "Admin"]
    assert pages["manager"].evaluate(HEADER_JS)["links"][-1] == "Team summary"
    assert not problems, "\n".join(problems)
    for who, by_width in heights.items():
        assert by_width == heights["employee"], f"{who}'s header: {by_width} vs {heights}"


@pytest.mark.looks
@pytest.mark.parametrize("viewport", [WIDE, PHONE], ids=["desktop", "phone"])
def test_the_account_menu_opens_without_javascript_and_fits(
    site: Site, busy_month: dict[str, Any], viewport: dict[str, int]
):
    page = site.sign_in(busy_month["logins"]["long-admin"], viewport=viewport, javascript=False)
    page.goto(site.url("/"))
    sign_out = page.get_by_role("button", name="Sign out")
    assert not sign_out.is_visible()

    page.locator(".account__person").click()

    assert sign_out.is_visible()
    panel = page.locator(".account-menu__panel").bounding_box()
    assert panel is not None
    assert panel["x"] >= 0
    assert panel["x"] + panel["width"] <= viewport["width"]
    assert sideways_scroll(page) is None
    screenshot(page, f"layout-account-menu-{'phone' if viewport is PHONE else 'desktop'}")
    assert page.locator(".account-menu__panel form").get_attribute("action") == "/logout"


@pytest.mark.looks
def test_the_account_menu_closes_on_escape_and_on_a_click_elsewhere(
    site: Site, busy_month: dict[str, Any]
):
    page = site.sign_in(busy_month["logins"]["long-admin"], viewport=WIDE)
    page.goto(site.url("/"))
    menu = page.locator("details.account-menu")
    page.locator(".account__person").click()
    assert menu.get_attribute("open") is not None
    page.keyboard.press("Escape")
    assert menu.get_attribute("open") is None
    assert page.evaluate("document.activeElement.classList.contains('account__person')")
    page.locator(".account__person").click()
    page.locator("main h1").first.click()
    assert menu.get_attribute("open") is None


@pytest.mark.looks
@pytest.mark.parametrize("viewport", [WIDE, PHONE], ids=["desktop", "phone"])
def test_the_summary_charts_are_readable_and_customer_rows_even(
    site: Site, busy_month: dict[str, Any], viewport: dict[str, int]
):
    page = site.sign_in(busy_month["logins"]["manager"], viewport=viewport)
    page.goto(site.url("/manager/summary"))

    sizes = chart_label_sizes(page)
    assert len(sizes) > 10, "the charts have labels"
    assert min(sizes) >= 12, f"chart labels as small as {min(sizes):.1f} px"
    rows = page.locator(".summary-customers tbody tr")
    heights = {
        round(box["height"])
        for box in (rows.nth(i).bounding_box() for i in range(rows.count()))
        if box
    }
    assert rows.count() >= 4
    assert max(heights) - min(heights) <= 1, f"uneven rows: {sorted(heights)}"
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        screenshot(page, f"layout-summary-{'phone' if viewport is PHONE else 'desktop'}-{scheme}")
