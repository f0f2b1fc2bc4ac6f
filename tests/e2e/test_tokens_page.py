"""The API tokens page in Chromium: a new token is shown once, after a
redirect, in a read-only field with a Copy button (without JavaScript: the
field alone)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PHONE, Site, assert_accessible, assert_fits_phone, screenshot

WIDE = {"width": 1280, "height": 800}


def create_token(page: Page, site: Site, name: str) -> None:
    page.goto(site.url("/settings/tokens/"))
    page.get_by_label("New token name").fill(name)
    page.get_by_role("button", name="Create token").click()
    page.wait_for_url(site.url("/settings/tokens/"))


def test_a_new_token_is_shown_once_and_copied_with_one_click(site: Site):
    site.person("Ada Lovelace", login="ada")
    page = site.sign_in("ada", viewport=WIDE)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])

    create_token(page, site, "Slack bot")

    field = page.get_by_label("Your new API token")
    expect(field).to_have_value(re.compile(r"^kudos_"))
    expect(field).to_have_attribute("readonly", "")
    expect(page.get_by_text("it won't be shown again")).to_be_visible()
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    expect(page.get_by_text("The token is on your clipboard.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == field.input_value()

    # A reload (or coming back) neither shows it again nor makes a second one.
    page.reload()
    expect(page.get_by_label("Your new API token")).to_have_count(0)
    expect(page.get_by_role("row", name=re.compile("Slack bot"))).to_have_count(1)


def test_without_javascript_the_token_can_still_be_selected(site: Site):
    site.person("Ada Lovelace", login="ada")
    page = site.sign_in("ada", viewport=WIDE, javascript=False)

    create_token(page, site, "cron job")

    field = page.get_by_label("Your new API token")
    expect(field).to_have_value(re.compile(r"^kudos_"))
    expect(page.get_by_role("button", name="Copy")).to_have_count(0)
    field.focus()
    page.keyboard.press("Control+A")
    assert page.evaluate("document.activeElement.selectionEnd") == len(field.input_value())


@pytest.mark.looks
@pytest.mark.parametrize("viewport", [WIDE, PHONE], ids=["1280", "390"])
@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_the_new_token_looks_right(site: Site, viewport: dict[str, int], color_scheme: str):
    site.person("Ada Lovelace", login="ada")
    page = site.sign_in("ada", viewport=viewport, color_scheme=color_scheme)

    create_token(page, site, "Weekly report")

    expect(page.get_by_role("button", name="Copy")).to_be_visible()
    assert_accessible(page, "the new token")
    if viewport is PHONE:
        assert_fits_phone(page)
    screenshot(page, f"tokens-new-{viewport['width']}-{color_scheme}")
