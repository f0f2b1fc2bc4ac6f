"""The compose page's day-one fixes, in headless Chromium: the picker stops
at 10 people, a cut paste is announced, the overridden choices follow the
recipients, Back brings the chosen people back with the message, the
confirmation's Undo takes the kudos back, and one's own kudos can't be
applauded."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from kudos.recognition.models import Kudos
from tests.e2e.conftest import PHONE, Site, assert_accessible, assert_fits_phone, screenshot
from tests.e2e.test_journeys import choose_recipient

LIMIT_NOTE = "[data-recipient-limit]"


def chips(page: Page) -> list[str]:
    return page.locator(".recipient-chip [dir=auto]").all_inner_texts()


def kudos_count(site: Site) -> int:
    site.session.commit()  # a fresh read of what the server wrote
    count = site.session.scalar(select(func.count()).select_from(Kudos))
    site.session.commit()  # and no read left open (SQLite would lock the server out)
    return count


def test_the_picker_refuses_an_eleventh_person_with_a_visible_message(site: Site):
    site.person("Nora Quist")
    people = [site.person(f"Colleague {letter}tt", login=f"c{letter}") for letter in "ABCDEFGHIJK"]

    page = site.sign_in("nora")
    page.goto(site.url("/kudos/new"))
    for person in people[:10]:
        choose_recipient(page, person.name.split()[1], person.name)
    expect(page.locator(LIMIT_NOTE)).to_have_text(
        "That's 10 people, the most one kudos can thank. Remove someone to add another."
    )

    search = page.get_by_role("combobox", name="Find people by name or e-mail")
    search.fill("Ktt")
    expect(page.locator(LIMIT_NOTE)).to_have_text(
        "You can thank up to 10 people in one kudos. Remove someone to add another."
    )
    expect(page.get_by_role("option")).to_have_count(0)
    assert len(chips(page)) == 10
    assert_accessible(page, "compose with 10 people")

    page.get_by_role("button", name="Remove Colleague Att").click()
    expect(page.locator(LIMIT_NOTE)).to_be_empty()
    choose_recipient(page, "Ktt", "Colleague Ktt")
    assert len(chips(page)) == 10


def test_a_paste_cut_to_fit_is_announced_near_the_counter(site: Site):
    site.person("Nora Quist")
    page = site.sign_in("nora")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(site.url("/kudos/new"))
    message = page.get_by_label("What did they do?")
    message.fill("Thanks! ")
    page.evaluate("text => navigator.clipboard.writeText(text)", "x" * 1200)

    message.focus()
    page.keyboard.press("End")
    page.keyboard.press("Control+V")

    expect(message).to_have_value("Thanks! " + "x" * 992)
    note = page.locator("#message-cut")
    expect(note).to_have_text(
        "Your pasted text was cut to fit the 1,000-character limit: "
        "the last 208 characters were left out."
    )
    assert "message-cut" in message.get_attribute("aria-describedby")
    assert_accessible(page, "compose after a cut paste")

    message.press("Backspace")  # room again: the note has had its say
    expect(note).to_be_empty()


def test_the_overridden_choices_follow_the_recipients(site: Site):
    site.person("Nora Quist")
    ana = site.person("Ana Reyes")
    site.prefer(ana, audience="team")
    site.person("Tom Becker")

    page = site.sign_in("nora")
    page.goto(site.url("/kudos/new"))
    everyone = page.locator("[data-visibility-choice=public]")
    choose_recipient(page, "Tom", "Tom Becker")
    expect(page.locator("[data-visibility-note]")).to_have_text(
        re.compile("Everyone at the company will see it.")
    )
    expect(everyone).not_to_have_class(re.compile("overridden"))

    choose_recipient(page, "Ana", "Ana Reyes")
    expect(everyone).to_have_class(re.compile("visibility-choice--overridden"))
    expect(everyone.locator("[data-overridden]")).to_have_text(
        "Overridden: Ana asked for team-only recognition."
    )
    # The radio keeps its name, and the reason is part of its label.
    radio = page.get_by_role("radio", name=re.compile("Everyone.*Overridden: Ana asked"))
    expect(radio).to_be_checked()
    expect(radio).to_be_enabled()
    expect(page.locator("[data-visibility-note]")).to_have_text(
        re.compile("It will be visible to you, Tom and Ana, their teams and their managers.")
    )
    expect(page.get_by_text("Ana prefers", exact=False)).to_have_count(1)
    assert_accessible(page, "compose with an overridden choice")
    screenshot(page, "compose-overridden-desktop")

    page.get_by_role("button", name="Remove Ana Reyes").click()
    expect(everyone).not_to_have_class(re.compile("overridden"))
    expect(everyone.locator("[data-overridden]")).to_be_hidden()


def test_back_after_sending_brings_the_people_back_with_the_message(site: Site):
    site.person("Nora Quist")
    site.person("Priya Raman")
    site.person("Tom Becker")

    page = site.sign_in("nora")
    page.goto(site.url("/kudos/new"))
    choose_recipient(page, "pri", "Priya Raman")
    choose_recipient(page, "tom", "Tom Becker")
    page.get_by_label(re.compile("Mentor")).check()
    page.get_by_label("What did they do?").fill("Thanks for the onboarding week.")
    first_key = page.locator("input[name=idempotency_key]").input_value()
    page.get_by_role("button", name="Send kudos").click()
    expect(page).to_have_url(site.url("/"))
    assert kudos_count(site) == 1

    page.go_back()

    expect(page).to_have_url(site.url("/kudos/new"))
    expect(page.get_by_label("What did they do?")).to_have_value("Thanks for the onboarding week.")
    expect(page.locator(".recipient-chip")).to_have_count(2)
    assert chips(page) == ["Priya Raman", "Tom Becker"]
    expect(page.locator(".preference-card")).to_have_count(2)  # the preview, refreshed
    # Not the stale page: a new key, so a second Send is a second kudos.
    assert page.locator("input[name=idempotency_key]").input_value() != first_key
    page.get_by_role("button", name="Send kudos").click()
    expect(page).to_have_url(site.url("/"))
    assert kudos_count(site) == 2


def test_the_confirmations_undo_takes_the_kudos_back(site: Site):
    site.person("Nora Quist")
    site.person("Priya Raman")

    page = site.sign_in("nora", viewport=PHONE)
    page.goto(site.url("/kudos/new"))
    choose_recipient(page, "pri", "Priya Raman")
    page.get_by_label(re.compile("Caring")).check()
    expect(page.locator("#kudos-left")).to_have_text(
        "You can send 20 more kudos today (the daily limit is 20)."
    )
    page.get_by_label("What did they do?").fill("Thanks for covering my shift.")
    page.get_by_role("button", name="Send kudos").click()

    flash = page.locator(".flash--undo")
    expect(flash).to_contain_text("Your kudos to Priya is on its way.")
    assert_accessible(page, "feed with the confirmation's Undo")
    assert_fits_phone(page)
    screenshot(page, "compose-undo-phone")
    flash.get_by_role("button", name=re.compile("^Undo")).click()

    expect(page.locator(".flash")).to_contain_text("Your kudos was deleted.")
    expect(page.locator(".kudos-card", has_text="covering my shift")).to_have_count(0)
    assert kudos_count(site) == 0
    page.goto(site.url("/kudos/new"))
    expect(page.locator("#kudos-left")).to_have_text(
        "You can send 19 more kudos today (the daily limit is 20)."  # taken back still counts
    )


def test_applause_is_for_onlookers(site: Site):
    nora = site.person("Nora Quist")
    priya = site.person("Priya Raman")
    site.person("Ola Berg")
    site.make.kudos(nora, [priya], message="Thanks for the review.")

    for login, reason in (
        ("nora", "You can't applaud kudos you sent."),
        ("priya", "You can't applaud kudos you received."),
    ):
        page = site.sign_in(login)
        card = page.locator(".kudos-card", has_text="Thanks for the review.")
        expect(card.locator(".reaction-button")).to_be_disabled()
        expect(card.locator(".reaction-why")).to_have_text(reason)
        expect(card.locator(".reaction-button")).to_have_accessible_description(reason)
        expect(card.locator("[data-reaction-count]")).to_be_hidden()
        assert_accessible(page, f"feed as {login}")

    page = site.sign_in("ola")
    card = page.locator(".kudos-card", has_text="Thanks for the review.")
    count = card.locator("[data-reaction-count]")
    expect(count).to_be_hidden()  # no "👏 0"
    page.wait_for_load_state()
    card.get_by_role("button", name="Applaud").click()
    expect(count).to_have_text("1")
    expect(count).to_be_visible()
    card.get_by_role("button", name=re.compile("Remove your applause")).click()
    expect(count).to_be_hidden()
    expect(card.get_by_role("button", name="Applaud")).to_be_visible()
