"""Onboarding and recognition settings, through their real forms."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from kudos.audit.models import AuditEntry
from kudos.preferences.models import FavouriteValue, RecognitionPreference
from kudos.preferences.services import (
    PreferenceChoices,
    PreferencesRejected,
    save_preferences,
    summary,
    visibility_sentence,
)
from kudos.recognition.models import Value
from tests.conftest import sign_in


@pytest.fixture
def newcomer(client, make):
    person = make.person(name="Nina Newcomer", new=True)
    sign_in(client, person)
    return person


def value_ids(session, *slugs) -> list[str]:
    return [str(session.scalar(select(Value.id).where(Value.slug == slug))) for slug in slugs]


def preference_of(session, person) -> RecognitionPreference | None:
    session.expire_all()
    return session.get(RecognitionPreference, person.id)


GOOD = {
    "audience": "team",
    "style": "celebratory",
    "email_opt_in": "y",
    "on_leaderboards": "y",
    "best_way_to_thank": "A coffee chat ☕",
}


def test_a_new_person_is_sent_to_onboarding_from_every_page(client, newcomer):
    for url in ("/", "/kudos/new", f"/people/{newcomer.id}", "/values/caring"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/onboarding?next="), url


def test_onboarding_is_friendly_and_complete(client, newcomer):
    page = client.get("/onboarding").get_data(as_text=True)

    assert "How do you like to be thanked?" in page
    assert "Welcome to Kudos, Nina" in page
    for text in (
        "Who should see praise for you?",
        "Air horns and balloons",
        "A quiet pat on the back",
        "E-mail me when I",
        "leaderboards",
        "What do you most like to be recognised for?",
        "The best way to thank me",
    ):
        assert text in page, text
    assert "E-mail is off at your company" in page  # no KUDOS_SMTP_URL in tests


def test_finishing_onboarding_saves_everything_and_goes_back(browser, session, newcomer):
    response = browser.submit(
        "/onboarding",
        data={
            **GOOD,
            "favourite_values": value_ids(session, "mentor", "caring"),
            "next": "/values/caring",
            "action": "save",
        },
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/values/caring"
    preference = preference_of(session, newcomer)
    assert (preference.audience, preference.style) == ("team", "celebratory")
    assert preference.email_opt_in
    assert preference.on_leaderboards
    assert [v.slug for v in preference.favourite_values] == ["mentor", "caring"]
    assert preference.best_way_to_thank == "A coffee chat ☕"
    assert browser.get("/").status_code == 200


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/onboarding?again=1", ""]
)
def test_onboarding_never_sends_you_off_the_site_or_back_to_itself(
    browser, session, newcomer, target
):
    response = browser.submit("/onboarding", data={**GOOD, "next": target, "action": "save"})

    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("app_overrides", [{"SMTP_URL": "smtp://127.0.0.1:2525"}])
def test_onboarding_offers_each_active_value_in_order_and_e_mail_when_it_is_on(
    client, session, make, newcomer
):
    retired = make.value("integrity")
    retired.active = False
    session.commit()

    response = client.get("/onboarding")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "E-mail is off at your company" not in page
    offered = re.findall(r'name="favourite_values" value="(\d+)"', page)
    active = session.scalars(select(Value.id).where(Value.active).order_by(Value.position))
    assert offered == [str(value_id) for value_id in active]
    assert str(retired.id) not in offered


def test_a_newcomer_still_gets_styles_suggestions_and_can_act(client, session, make, newcomer):
    kudos = make.kudos(make.person(), [make.person()])
    onboarding = client.get("/onboarding").get_data(as_text=True)
    token = onboarding.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]

    with client.get("/static/css/kudos.css") as styles:
        assert styles.status_code == 200
    assert client.get("/people/suggest?q=ni").status_code == 200
    reacted = client.post(f"/kudos/{kudos.id}/react", data={"csrf_token": token, "next": "/x"})
    assert reacted.headers["Location"] == "/x"  # a POST is never sent to onboarding


def test_later_postpones_onboarding_and_a_reminder_stays(browser, session, newcomer):
    response = browser.submit("/onboarding", data={"action": "later", "next": "/"})

    assert response.status_code == 302
    page = browser.get("/").get_data(as_text=True)
    assert "Tell us how you like to be thanked" in page
    assert preference_of(session, newcomer) is None


def test_unchecked_boxes_mean_no(browser, session, newcomer):
    browser.submit("/onboarding", data={"audience": "public", "style": "low_key", "action": "save"})

    preference = preference_of(session, newcomer)
    assert not preference.email_opt_in
    assert not preference.on_leaderboards


@pytest.mark.parametrize(
    ("changes", "field_message"),
    [
        ({"audience": "the whole internet"}, "Choose who should see praise for you"),
        ({"style": "fireworks"}, "Choose a quiet pat on the back"),
        ({"best_way_to_thank": "x" * 281}, "Keep it to 280 characters"),
        ({"favourite_values": "four"}, "Pick up to 3 values"),
        ({"favourite_values": ["999999"]}, "Pick values from the list"),
    ],
)
def test_bad_values_re_render_with_the_message_and_save_nothing(
    browser, session, newcomer, changes, field_message
):
    data = {**GOOD, "action": "save", **changes}
    if changes.get("favourite_values") == "four":
        data["favourite_values"] = value_ids(session, "mentor", "caring", "ownership", "integrity")

    response = browser.submit("/onboarding", data=data)

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert field_message in page
    assert "A coffee chat ☕" in page or "best_way_to_thank" in changes
    assert preference_of(session, newcomer) is None


def test_settings_show_and_change_preferences(browser, session, newcomer):
    browser.submit("/onboarding", data={**GOOD, "action": "save"})

    browser.submit(
        "/settings/recognition",
        data={**GOOD, "favourite_values": value_ids(session, "mentor")},
    )

    page = browser.get("/settings/recognition").get_data(as_text=True)
    assert 'value="team" checked' in page
    assert 'value="celebratory" checked' in page
    checked = re.findall(r'name="favourite_values" value="(\d+)" checked', page)
    assert checked == value_ids(session, "mentor")

    response = browser.submit(
        "/settings/recognition",
        data={
            "audience": "private",
            "style": "low_key",
            "on_leaderboards": "y",
            "favourite_values": value_ids(session, "integrity"),
        },
    )

    assert response.status_code == 302
    preference = preference_of(session, newcomer)
    assert (preference.audience, preference.style, preference.email_opt_in) == (
        "private",
        "low_key",
        False,
    )
    assert [v.slug for v in preference.favourite_values] == ["integrity"]
    assert preference.best_way_to_thank is None


def test_settings_need_csrf(client, session, newcomer):
    response = client.post("/settings/recognition", data={**GOOD})

    assert response.status_code == 400
    assert preference_of(session, newcomer) is None


def test_settings_need_sign_in(client):
    assert client.get("/settings/recognition").status_code == 302
    assert client.get("/onboarding").status_code == 302


def test_the_sender_sees_each_recipients_preferences_and_who_will_see_it(
    browser, session, make, signed_in
):
    priya = make.person(name="Priya Raman")
    tom = make.person(name="Tom Herrera")
    session.add(
        RecognitionPreference(
            person=priya, audience="private", style="low_key", best_way_to_thank="A coffee chat"
        )
    )
    session.commit()
    mentor = session.scalars(select(Value).where(Value.slug == "mentor")).one()
    priya.preference.favourites = [FavouriteValue(value=mentor, position=1)]
    session.commit()

    page = browser.get(
        f"/kudos/new/preview?recipients={priya.id}&recipients={tom.id}&visibility=public"
    ).get_data(as_text=True)

    # Priya's wish is stated once, on her card; the choices it overrides name it.
    assert page.count("Priya prefers") == 1
    assert "only Priya and their managers (and you) will see it" in page
    assert "It will be visible only to you, Priya and Tom and their managers." in page
    assert 'data-overridden-public="Overridden: Priya asked for private recognition."' in page
    assert "Loves being recognised for <strong>Mentor</strong>" in page
    assert 'Best way to thank Priya: “<span dir="auto">A coffee chat</span>”' in page
    assert "Tom hasn't said yet how they like to be recognised." in page


@pytest.mark.parametrize(
    ("requested", "sentence"),
    [
        ("private", "It will be visible only to you, Tom and their managers."),
        ("team", "It will be visible to you, Tom, their teams and their managers."),
        ("public", "Everyone at the company will see it."),
        ("everyone", "Everyone at the company will see it."),  # not a choice: public
    ],
)
def test_the_preview_follows_the_senders_choice(browser, make, signed_in, requested, sentence):
    tom = make.person(name="Tom Herrera")

    page = browser.get(f"/kudos/new/preview?recipients={tom.id}&visibility={requested}")

    html = page.get_data(as_text=True)
    assert sentence in html
    effective = requested if requested != "everyone" else "public"
    assert f'data-effective="{effective}"' in html  # the page's script reads it


def test_the_compose_form_shows_the_preview_without_javascript(browser, session, make, signed_in):
    priya = make.person(name="Priya Raman")
    session.add(RecognitionPreference(person=priya, audience="team"))
    session.commit()

    page = browser.submit(
        "/kudos/new",
        data={
            "recipients": [str(priya.id)],
            "action": "search",
            "q": "",
            "visibility": "public",
        },
    ).get_data(as_text=True)

    assert page.count("Priya prefers") == 1
    assert "Priya prefers recognition within their team" in page
    assert "visible to you, Priya, their teams and their managers" in page
    assert "Overridden: Priya asked for team-only recognition." in page

    # Sent with the same choice as Priya's, after a mistake: the preview keeps
    # the sender's choice and says nothing about Priya's winning.
    page = browser.submit(
        "/kudos/new",
        data={"recipients": [str(priya.id)], "visibility": "team", "message": ""},
    ).get_data(as_text=True)
    assert "Write a few words" in page
    assert 'data-effective="team"' in page
    assert "so their choice wins" not in page


def test_profiles_say_how_the_person_likes_to_be_recognised(browser, session, make, signed_in):
    priya = make.person(name="Priya Raman")
    session.add(RecognitionPreference(person=priya, audience="public", style="celebratory"))
    session.commit()

    page = browser.get(f"/people/{priya.id}").get_data(as_text=True)

    assert "How Priya likes to be recognised" in page
    assert "Loves a celebration: air horns and balloons." in page


def test_effective_visibility_takes_the_most_private_choice(session, make):
    from kudos.recognition.services import effective_visibility

    people = {audience: make.person() for audience in ("public", "team", "private")}
    for audience, person in people.items():
        session.add(RecognitionPreference(person=person, audience=audience))
    session.commit()
    unknown = make.person()

    assert effective_visibility("public", [people["public"], unknown]) == "public"
    assert effective_visibility("public", [people["public"], people["team"]]) == "team"
    assert effective_visibility("team", [people["private"], people["team"]]) == "private"
    assert effective_visibility("private", [people["public"]]) == "private"


# The service: every field's rule and message, at the limits ----------------------

NOW = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def choices(**changes: object) -> PreferenceChoices:
    values = {
        "audience": "team",
        "style": "low_key",
        "email_opt_in": True,
        "on_leaderboards": True,
        "favourite_value_ids": [],
        "best_way_to_thank": None,
        **changes,
    }
    return PreferenceChoices(**values)


def problems(session, person, **changes: object) -> dict[str, str]:
    with pytest.raises(PreferencesRejected) as caught:
        save_preferences(session, person, choices(**changes), now=NOW)
    return caught.value.fields


def test_each_bad_field_has_its_own_message(session, make):
    person = make.person()
    values = list(session.scalars(select(Value.id).where(Value.active).order_by(Value.id)))
    retired = make.value()
    retired.active = False
    session.flush()

    assert problems(
        session,
        person,
        audience="everyone",
        style="loud",
        email_opt_in="yes",
        on_leaderboards=None,
        best_way_to_thank="x" * 281,
    ) == {
        "audience": "Choose who should see praise for you: public, team or private.",
        "style": "Choose a quiet pat on the back (low_key) or air horns (celebratory).",
        "email_opt_in": "Answer yes or no.",
        "on_leaderboards": "Answer yes or no.",
        "best_way_to_thank": "Keep it to 280 characters (now 281).",
    }
    assert problems(session, person, favourite_value_ids=values[:4]) == {
        "favourite_values": "Pick up to 3 values."
    }
    for wrong in ([2**31 - 1], [retired.id]):
        assert problems(session, person, favourite_value_ids=wrong) == {
            "favourite_values": "Pick values from the list."
        }
    assert problems(session, person, best_way_to_thank="Coffee\x1b[31m") == {
        "best_way_to_thank": "Use one line of plain text."
    }
    assert person.preference is None


def test_three_values_and_280_characters_are_kept_in_order_and_audited(session, make):
    person = make.person()
    three = list(session.scalars(select(Value.id).where(Value.active).order_by(Value.id)))[:3]
    way = "w" * 280

    preference = save_preferences(
        session,
        person,
        choices(favourite_value_ids=three[::-1], best_way_to_thank=way),
        now=NOW,
    )

    assert (preference.created_at, preference.updated_at) == (NOW, NOW)
    assert preference.best_way_to_thank == way
    assert [(f.position, f.value_id) for f in preference.favourites] == [
        (1, three[2]),
        (2, three[1]),
        (3, three[0]),
    ]
    save_preferences(session, person, choices(audience="private"), now=NOW)
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.action.like("preferences.%")).order_by(AuditEntry.id)
    ).all()
    details = {
        "style": "low_key",
        "email": True,
        "slack": False,
        "in_slack_channel": True,
        "leaderboards": True,
    }
    assert [(e.actor_id, e.action, e.target_type, e.target_id, e.details) for e in entries] == [
        (person.id, "preferences.created", "person", person.id, {"audience": "team", **details}),
        (person.id, "preferences.saved", "person", person.id, {"audience": "private", **details}),
    ]


def test_what_the_sender_reads_about_the_audience(session, make):
    ann, ben, cat = (make.person(name=f"{n} Person") for n in ("Ann", "Ben", "Cat"))
    for person, audience in ((ann, "private"), (ben, "private"), (cat, "team")):
        save_preferences(session, person, choices(audience=audience), now=NOW)

    assert visibility_sentence("public", "public", []) == "Everyone at the company will see it."
    assert visibility_sentence("private", "private", []) == (
        "It will be visible only to you, them and their managers."
    )
    assert visibility_sentence("team", "team", [ann, ben, cat]) == (
        "It will be visible to you, Ann, Ben and Cat, their teams and their managers."
    )
    assert visibility_sentence("public", "private", [ann, ben, cat]) == (
        "Ann and Ben prefer private recognition, so their choice wins. "
        "It will be visible only to you, Ann, Ben and Cat and their managers."
    )
    assert visibility_sentence("public", "team", [cat, make.person(name="Dan Person")]) == (
        "Cat prefers team-only recognition, so their choice wins. "
        "It will be visible to you, Cat and Dan, their teams and their managers."
    )


def test_a_colleague_without_preferences_reads_as_public_and_low_key(session, make):
    newcomer, known = make.person(), make.person()
    save_preferences(session, known, choices(audience="private", style="celebratory"), now=NOW)

    unknown = summary(newcomer)
    assert (unknown.audience, unknown.style, unknown.favourite_values, unknown.known) == (
        "public",
        "low_key",
        [],
        False,
    )
    assert (summary(known).audience, summary(known).style, summary(known).known) == (
        "private",
        "celebratory",
        True,
    )
