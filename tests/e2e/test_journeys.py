"""The main journeys, in headless Chromium against a real Kudos server.

Every page a journey passes through is checked with axe-core (no serious or
critical violations).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import (
    DESKTOP,
    PHONE,
    Site,
    assert_accessible,
    assert_fits_phone,
    focus_is_visible,
    screenshot,
    tab_to,
)


def choose_recipient(page: Page, typed: str, name: str) -> None:
    """Type part of a name and pick the suggestion, as a person would."""
    page.wait_for_load_state()  # the page's script listens for typing once loaded
    search = page.get_by_role("combobox", name="Find people by name or e-mail")
    search.fill(typed)
    page.get_by_role("option", name=re.compile(name)).click()
    expect(page.locator(".recipient-chip", has_text=name)).to_be_visible()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_new_employee_signs_in_says_how_they_like_thanks_and_thanks_two_colleagues(
    site: Site, viewport: dict[str, int]
):
    def looks_right(what: str) -> None:
        assert_accessible(page, what)
        if viewport is PHONE:
            assert_fits_phone(page)

    platform = site.make.team("Platform")
    priya = site.person("Priya Raman", team=platform, title="SRE")
    tom = site.person("Tom Becker", team=platform, title="Support engineer")
    site.new_login("nora", "Nora Quist", team="Platform", title="Engineer")

    page = site.sign_in("nora", viewport=viewport)

    # First sign-in: onboarding, before anything else.
    expect(page).to_have_url(re.compile(r"/onboarding"))
    expect(page.get_by_role("heading", level=1)).to_have_text("How do you like to be thanked?")
    looks_right("onboarding")
    page.get_by_label(re.compile("Air horns")).check()
    page.get_by_label(re.compile("Mentor")).check()
    page.get_by_label(re.compile("best way to thank", re.I)).fill("Tell my manager!")
    page.get_by_role("button", name="Save and start").click()
    expect(page.get_by_role("status").first).to_contain_text("Thanks, Nora!")
    looks_right("feed after onboarding")

    # Send kudos to two colleagues, with a value.
    page.get_by_role("link", name="Send kudos").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Send kudos")
    choose_recipient(page, "pri", "Priya Raman")
    choose_recipient(page, "tom", "Tom Becker")
    expect(page.locator("[data-preview]")).to_contain_text("Tom")
    page.get_by_label(re.compile("Responsive")).check()
    page.get_by_label("What did they do?").fill(
        "Thank you both for getting the build farm back before the release!"
    )
    expect(page.locator("#message-count")).to_contain_text("/ 1000")
    looks_right("compose, filled in")
    page.get_by_role("button", name="Send kudos").click()

    expect(page).to_have_url(site.url("/"))
    expect(page.get_by_role("status").first).to_contain_text("Your kudos to Priya and Tom")
    card = page.locator(".kudos-card").first
    expect(card).to_contain_text("Nora Quist thanked Priya Raman and Tom Becker")
    expect(card).to_contain_text("build farm")
    expect(card.get_by_role("link", name=re.compile("Responsive"))).to_be_visible()
    looks_right("feed with the new kudos")
    assert {priya.id, tom.id} <= {int(link.split("/")[-1]) for link in recipient_links(card)}


def recipient_links(card) -> list[str]:  # noqa: ANN001
    """The profile links of the people a kudos card thanks."""
    return card.locator(".kudos-card__title a.person-link").evaluate_all(
        "links => links.slice(1).map(a => a.getAttribute('href'))"
    )


def test_a_celebratory_recipient_gets_a_party_and_a_low_key_one_a_quiet_word(site: Site):
    nora = site.person("Nora Quist")
    priya = site.person("Priya Raman")
    tom = site.person("Tom Becker")
    site.prefer(priya, "celebratory")
    site.prefer(tom, "low_key")
    site.make.kudos(
        nora, [priya, tom], message="You two rescued the release.", values=["ownership"]
    )

    page = site.sign_in("priya")
    celebration = page.locator(".celebration")
    expect(celebration.get_by_role("heading")).to_have_text("Nora just thanked you!")
    expect(celebration).to_contain_text("You two rescued the release.")
    expect(celebration).to_contain_text("for Ownership")
    confetti = page.locator(".confetti").first
    assert confetti.evaluate("el => getComputedStyle(el).animationName") == "confetti-fall"
    expect(page.locator(".balloon")).to_have_count(7)
    assert_accessible(page, "celebration")
    page.emulate_media(color_scheme="dark")
    assert_accessible(page, "celebration, dark")
    page.emulate_media(color_scheme="light")
    page.wait_for_timeout(1300)  # confetti in mid-air
    screenshot(page, "celebration-desktop", moving=True)
    # Closing it is the visitor's choice; it is shown once, not on every page.
    celebration.get_by_role("button", name="Close").click()
    expect(celebration).to_have_count(0)
    page.reload()
    expect(page.locator(".celebration")).to_have_count(0)

    page = site.sign_in("tom")
    notice = page.locator(".quiet-notice")
    expect(notice).to_contain_text("Nora Quist thanked you: “You two rescued the release.”")
    expect(page.locator(".celebration, .confetti")).to_have_count(0)
    assert_accessible(page, "quiet notice")
    notice.get_by_role("link", name="See it").click()
    expect(page.locator(".kudos-card")).to_contain_text("You two rescued the release.")


def test_the_celebration_keeps_still_for_people_who_prefer_reduced_motion(site: Site):
    nora = site.person("Nora Quist")
    priya = site.person("Priya Raman")
    site.prefer(priya, "celebratory")
    site.make.kudos(nora, [priya], message="Calm and brilliant, as ever.")

    page = site.sign_in("priya", reduced_motion="reduce", viewport=PHONE)
    card = page.locator(".celebration__card")
    expect(card.get_by_role("heading")).to_have_text("Nora just thanked you!")
    expect(page.locator(".celebration__sky")).to_be_hidden()
    assert card.evaluate("el => getComputedStyle(el).animationName") == "none"
    assert_fits_phone(page)
    screenshot(page, "celebration-phone")


def test_a_teammate_sees_it_in_the_team_feed_and_applauds_without_a_reload(site: Site):
    platform = site.make.team("Platform")
    nora = site.person("Nora Quist")
    priya = site.person("Priya Raman", team=platform)
    site.person("Ola Berg", team=platform)
    site.make.kudos(nora, [priya], message="Thanks for pairing on the outage review.")

    page = site.sign_in("ola")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My team").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Platform")
    card = page.locator(".kudos-card", has_text="outage review")
    expect(card).to_contain_text("Nora Quist thanked Priya Raman")
    assert_accessible(page, "team feed")

    page.wait_for_load_state()  # applause goes through the script once it is loaded
    page.evaluate("window.stillHere = true")
    applaud = card.get_by_role("button", name=re.compile("Applaud"))
    expect(applaud).to_have_attribute("aria-pressed", "false")
    applaud.click()
    expect(card.locator("[data-reaction-count]")).to_have_text("1")
    expect(card.locator(".reaction-button")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("window.stillHere") is True, "the page reloaded"
    assert_accessible(page, "team feed after applauding")

    page.reload()
    card = page.locator(".kudos-card", has_text="outage review")
    expect(card.locator("[data-reaction-count]")).to_have_text("1")
    expect(card.locator(".reaction-button")).to_have_attribute("aria-pressed", "true")


def board_rows(page: Page, title: str) -> list[str]:
    """Each row of a board as "rank name score"."""
    board = page.locator("section.board", has=page.get_by_role("heading", name=title))
    return board.locator(".board__row").evaluate_all(
        """rows => rows.map(row => [
            row.querySelector('.board__rank').lastChild.textContent,
            row.querySelector('.board__name').textContent,
            row.querySelector('.board__score').firstChild.textContent,
        ].map(text => text.trim()).join(' '))"""
    )


def test_the_leaderboard_shows_the_right_people(site: Site):
    nora = site.person("Nora Quist")
    priya = site.person("Priya Raman")
    tom = site.person("Tom Becker")
    shy = site.person("Sam Shy")
    site.prefer(shy, on_leaderboards=False)
    site.make.kudos(nora, [priya, tom], values=["mentor"])
    site.make.kudos(nora, [priya])
    site.make.kudos(tom, [priya])
    site.make.kudos(shy, [tom])

    page = site.sign_in("tom")
    page.get_by_role("link", name="Leaderboard").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("month to date")
    assert board_rows(page, "Top appreciators") == ["1 Nora Quist 3", "2 Tom Becker 1"]
    assert board_rows(page, "Most appreciated") == ["1 Priya Raman 3", "2 Tom Becker 2"]
    assert_accessible(page, "leaderboard")

    page.get_by_label("Value").select_option("mentor")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"value=mentor"))
    page.wait_for_load_state()
    assert board_rows(page, "Top appreciators") == ["1 Nora Quist 2"]
    # A tie shares the place.
    assert sorted(board_rows(page, "Most appreciated")) == ["1 Priya Raman 1", "1 Tom Becker 1"]


def test_an_admin_hides_a_kudos_and_it_disappears_everywhere(site: Site):
    platform = site.make.team("Platform")
    site.person("Maya Adams", admin=True)
    nora = site.person("Nora Quist")
    priya = site.person("Priya Raman", team=platform)
    site.make.kudos(nora, [priya], message="Glad your surgery went well, see you soon!")
    site.make.kudos(nora, [priya], message="Thanks for the on-call handover.")

    # Priya sees it before.
    page = site.sign_in("priya")
    expect(page.locator(".kudos-card", has_text="surgery")).to_have_count(1)

    admin = site.sign_in("maya")
    admin.locator(".kudos-card", has_text="surgery").locator(".kudos-card__time").click()
    admin.get_by_label("Why hide it?").fill("Shares a colleague's health details")
    admin.get_by_role("button", name="Hide").click()
    expect(admin.get_by_role("status").first).to_contain_text("hidden from every feed")
    expect(admin.get_by_role("note")).to_contain_text("Hidden by a moderator")
    assert_accessible(admin, "hidden kudos, as the admin sees it")
    kudos_url = admin.url
    admin.get_by_role("link", name="Admin").click()
    admin.get_by_role("navigation", name="Admin").get_by_role(
        "link", name="Moderation & audit"
    ).click()
    expect(admin.get_by_role("table").first).to_contain_text("Shares a colleague's health details")
    assert_accessible(admin, "admin")
    admin.get_by_role("link", name="Feed").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Company feed")
    expect(admin.locator(".kudos-card", has_text="on-call handover")).to_have_count(1)
    expect(admin.locator(".kudos-card", has_text="surgery")).to_have_count(0)

    for path in [
        "/",
        f"/teams/{platform.slug}",
        f"/people/{priya.id}",
        f"/people/{nora.id}?tab=given",
        "/values/responsive",
    ]:
        page.goto(site.url(path))
        expect(page.locator(".kudos-card", has_text="on-call handover")).to_have_count(1)
        expect(page.locator(".kudos-card", has_text="surgery")).to_have_count(0)
    page.goto(site.url("/leaderboard"))
    assert board_rows(page, "Most appreciated") == ["1 Priya Raman 1"]
    response = page.goto(kudos_url)
    assert response is not None
    assert response.status == 404
    assert_accessible(page, "404 page")


def test_the_compose_form_shows_what_is_wrong_and_keeps_what_was_typed(site: Site):
    site.person("Nora Quist")
    site.person("Priya Raman")

    page = site.sign_in("nora")
    page.goto(site.url("/kudos/new"))
    choose_recipient(page, "pri", "Priya Raman")
    page.get_by_label("What did they do?").fill("Thanks for the migration runbook.")
    page.get_by_role("radio", name=re.compile("Their team")).check()
    page.get_by_role("button", name="Send kudos").click()

    error = page.locator("#values-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text(re.compile("value", re.I))
    expect(page.get_by_label("What did they do?")).to_have_value(
        "Thanks for the migration runbook."
    )
    expect(page.locator(".recipient-chip", has_text="Priya Raman")).to_be_visible()
    expect(page.get_by_role("radio", name=re.compile("Their team"))).to_be_checked()
    assert_accessible(page, "compose with errors")

    page.get_by_label("What did they do?").fill("")
    page.get_by_label(re.compile("Caring")).check()
    page.get_by_role("button", name="Send kudos").click()
    expect(page.locator("#message-error")).to_be_visible()
    expect(page.get_by_label("What did they do?")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label(re.compile("Caring"))).to_be_checked()
    screenshot(page, "compose-errors-desktop")


def test_sending_kudos_with_the_keyboard_only(site: Site):
    site.person("Nora Quist")
    priya = site.person("Priya Raman")

    page = site.sign_in("nora")
    page.goto(site.url("/kudos/new"))
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    assert skip.evaluate("el => el === document.activeElement")
    assert focus_is_visible(page)
    box = skip.bounding_box()
    assert box is not None
    assert box["y"] >= 0, "the skip link stays off screen when focused"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    tab_to(page, "#q")
    page.keyboard.type("pri")
    expect(page.get_by_role("option", name=re.compile("Priya Raman"))).to_be_visible()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator(".recipient-chip", has_text="Priya Raman")).to_be_visible()
    tab_to(page, "input[name=values]")
    page.keyboard.press("Space")
    tab_to(page, "#message")
    page.keyboard.type("Thanks for answering my question within minutes.")
    tab_to(page, "button[value=send]")
    page.keyboard.press("Enter")

    expect(page).to_have_url(site.url("/"))
    card = page.locator(".kudos-card").first
    expect(card).to_contain_text("Nora Quist thanked Priya Raman")
    # Her own kudos: no applause from her, and the card says why.
    expect(card.locator(".reaction-button")).to_be_disabled()
    expect(card.locator(".reaction-why")).to_have_text("You can't applaud kudos you sent.")
    assert priya.id


def test_everything_works_without_javascript(site: Site):
    site.person("Nora Quist")
    site.person("Priya Raman")
    site.person("Ola Berg")

    page = site.sign_in("nora", javascript=False)
    page.goto(site.url("/kudos/new"))
    page.get_by_label("Find people by name or e-mail").fill("pri")
    page.get_by_role("button", name="Search").click()
    page.get_by_label(re.compile("Priya Raman")).check()
    page.get_by_label(re.compile("Responsive")).check()
    page.get_by_label("What did they do?").fill("Works even with scripts off. Thanks!")
    page.get_by_role("button", name="Send kudos").click()
    card = page.locator(".kudos-card").first
    expect(card).to_contain_text("Nora Quist thanked Priya Raman")
    expect(card.get_by_role("button", name=re.compile("Applaud"))).to_be_disabled()

    ola = site.sign_in("ola", javascript=False)
    card = ola.locator(".kudos-card").first
    expect(card.locator("[data-reaction-count]")).to_be_hidden()  # no "0"
    card.get_by_role("button", name=re.compile("Applaud")).click()
    card = ola.locator(".kudos-card").first
    expect(card.locator("[data-reaction-count]")).to_have_text("1")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_manager_reads_the_monthly_summary_and_downloads_the_csv(
    site: Site, viewport: dict[str, int]
):
    finance = site.make.department("Finance")
    sales = site.make.department("Sales")
    maya = site.person("Maya Adams", department=finance)
    priya = site.person("Priya Raman", manager=maya, department=finance, title="Analyst")
    site.person("Tom Becker", manager=maya, department=finance, title='=HYPERLINK("x")')
    nora = site.person("Nora Quist", department=sales)
    site.prefer(priya, "celebratory", best_way_to_thank="A coffee chat")
    site.make.kudos(nora, [priya], values=["responsive"], message="Answers in minutes, every time")

    # An employee without reports has no link to it, and is refused.
    page = site.sign_in("priya", viewport=viewport)
    expect(page.get_by_role("link", name="Team summary")).to_have_count(0)
    response = page.goto(site.url("/manager/summary"))
    assert response is not None
    assert response.status == 403

    page = site.sign_in("maya", viewport=viewport)
    page.get_by_role("link", name="Team summary").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("month to date")
    people = page.locator("table.summary-people")
    expect(people).to_contain_text("Priya Raman")
    expect(people).to_contain_text("Tom Becker")
    expect(people).to_contain_text("A coffee chat")
    expect(page.get_by_role("region", name="Internal customers")).to_contain_text("Sales")
    expect(page.get_by_role("region", name="Suggested actions")).to_contain_text("Tom")
    assert_accessible(page, "manager summary")
    if viewport is PHONE:
        assert_fits_phone(page)
    screenshot(page, f"summary-{'phone' if viewport is PHONE else 'desktop'}")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    download = download_info.value
    assert re.fullmatch(r"team-summary-\d{4}-\d{2}\.csv", download.suggested_filename)
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    by_name = {row["name"]: row for row in rows}
    assert set(by_name) == {"Priya Raman", "Tom Becker"}
    assert (by_name["Priya Raman"]["received"], by_name["Tom Becker"]["received"]) == ("1", "0")
    # A cell that a spreadsheet would run as a formula is neutralised.
    assert by_name["Tom Becker"]["title"] == '\'=HYPERLINK("x")'
