"""Sending kudos from the web: the compose page, through its real form (CSRF on)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kudos.db import utcnow
from kudos.recognition.models import Kudos, Recognition, Value
from tests.conftest import sign_in


def value_id(session, slug: str) -> int:
    return session.scalar(select(Value.id).where(Value.slug == slug))


def kudos_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Kudos))


@pytest.fixture
def colleagues(make):
    return make.person(name="Grace Hopper"), make.person(name="Alan Turing")


def send(
    browser,
    session,
    people,
    *,
    values=("responsive",),
    message="Thanks!",
    visibility="public",
    **extra,
):
    data = {
        "recipients": [str(person.id) for person in people],  # extra may override
        "values": [str(value_id(session, slug)) for slug in values],
        "message": message,
        "visibility": visibility,
        "action": "send",
        **extra,
    }
    return browser.submit("/kudos/new", data=data)


def test_the_compose_page_offers_values_and_visibility(browser, signed_in):
    page = browser.get("/kudos/new").get_data(as_text=True)

    assert "Responsive" in page
    assert "Never ghosted a coworker" in page
    assert 'name="visibility" value="private"' in page
    assert 'name="idempotency_key"' in page


def test_sending_to_two_colleagues_lands_on_the_feed_with_a_confirmation(
    browser, session, signed_in, colleagues
):
    response = send(
        browser,
        session,
        colleagues,
        values=("responsive", "mentor"),
        message="Thank you both for the onboarding!",
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    feed = browser.get("/").get_data(as_text=True)
    assert "is on its way" in feed
    assert feed.index("Thank you both for the onboarding!") < feed.index("</main>")
    kudos = session.scalars(select(Kudos)).one()
    assert kudos.sender_id == signed_in.id
    assert {r.recipient_id for r in kudos.recognitions} == {p.id for p in colleagues}
    assert [v.slug for v in kudos.values] == ["responsive", "mentor"]


def test_a_recipient_can_be_preselected_from_a_profile(browser, signed_in, colleagues):
    page = browser.get(f"/kudos/new?to={colleagues[0].id}").get_data(as_text=True)

    assert f'name="recipients" value="{colleagues[0].id}"' in page


def test_a_value_can_be_preselected_from_its_page(browser, signed_in, make):
    mentor = make.value("mentor")

    page = browser.get("/kudos/new?value=mentor").get_data(as_text=True)

    assert f'name="values" value="{mentor.id}" checked' in page
    assert browser.get("/kudos/new?value=nope").status_code == 200


@pytest.mark.parametrize(
    ("case", "field_message"),
    [
        ("nobody", "Choose at least one person"),
        ("self", "can&#39;t send kudos to yourself"),
        ("eleven", "at most 10 people"),
        ("inactive", "no longer works here"),
        ("unknown", "not in the directory"),
        ("empty", "Write a few words"),
        ("whitespace", "Write a few words"),
        ("too long", "Keep it to 1000 characters"),
        ("nul", "invisible control characters"),
        ("no values", "Choose the value they showed"),
        ("four values", "at most 3 values"),
        ("inactive value", "no longer in use"),
        ("bad visibility", "Choose who can see"),
    ],
)
def test_bad_input_re_renders_the_form_with_the_message_and_keeps_everything(
    browser, session, make, signed_in, colleagues, case, field_message
):
    recipients, values = [colleagues[0]], ("responsive", "caring")
    message, visibility, extra = "Kept message ✨", "team", {}
    if case == "nobody":
        recipients = []
    elif case == "self":
        recipients = [signed_in]
    elif case == "eleven":
        recipients = [make.person() for _ in range(11)]
    elif case == "inactive":
        recipients = [make.person(active=False)]
    elif case == "unknown":
        recipients = [make.person()]
        extra = {"recipients": [str(recipients[0].id), "999999"]}
    elif case == "empty":
        message = ""
    elif case == "whitespace":
        message = "   \n  "
    elif case == "too long":
        message = "x" * 1001
    elif case == "nul":
        message = "null\x00byte"
    elif case == "no values":
        values = ()
    elif case == "four values":
        values = ("responsive", "caring", "mentor", "ownership")
    elif case == "inactive value":
        session.scalars(select(Value).where(Value.slug == "caring")).one().active = False
        session.commit()
    elif case == "bad visibility":
        visibility = "everyone"

    response = send(
        browser, session, recipients, values=values, message=message, visibility=visibility, **extra
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_message in page
    assert 'class="field__error"' in page
    assert kudos_count(session) == 0
    if case not in ("empty", "whitespace", "too long", "nul"):
        assert "Kept message ✨" in page
    if case in ("empty", "whitespace"):
        assert f'name="recipients" value="{colleagues[0].id}"' in page
    assert f'value="{value_id(session, "responsive")}" checked' in page or case == "no values"


def test_the_no_javascript_search_finds_people_and_keeps_the_form(
    browser, session, signed_in, colleagues
):
    response = browser.submit(
        "/kudos/new",
        data={
            "q": "grace",
            "action": "search",
            "message": "Draft kept",
            "values": [str(value_id(session, "caring"))],
        },
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'type="checkbox" name="recipients" value="{colleagues[0].id}"' in page
    assert "Alan Turing" not in page
    assert "Draft kept" in page
    assert kudos_count(session) == 0


def test_removing_a_chosen_person_without_javascript(browser, session, signed_in, colleagues):
    grace, alan = colleagues

    response = browser.submit(
        "/kudos/new",
        data={
            "recipients": [str(grace.id), str(alan.id)],
            "action": f"remove:{grace.id}",
        },
    )

    page = response.get_data(as_text=True)
    assert f'name="recipients" value="{alan.id}"' in page
    assert f'name="recipients" value="{grace.id}"' not in page


def test_a_double_submitted_form_creates_one_kudos(browser, session, signed_in, colleagues):
    send(browser, session, colleagues, idempotency_key="form-abc")
    second = send(browser, session, colleagues, idempotency_key="form-abc")

    assert second.status_code == 302
    assert kudos_count(session) == 1


@pytest.fixture
def app_overrides():
    return {"DAILY_KUDOS_LIMIT": 2}


def test_past_the_daily_limit_the_sender_gets_a_clear_429(browser, session, signed_in, colleagues):
    send(browser, session, colleagues[:1])
    send(browser, session, colleagues[:1])

    response = send(browser, session, colleagues[:1], message="One too many")

    assert response.status_code == 429
    assert "daily limit" in response.get_data(as_text=True)
    assert "One too many" in response.get_data(as_text=True)
    assert kudos_count(session) == 2


def test_sending_without_a_csrf_token_is_refused(client, session, signed_in, colleagues):
    response = client.post(
        "/kudos/new",
        data={
            "recipients": [str(colleagues[0].id)],
            "values": [str(value_id(session, "caring"))],
            "message": "Forged",
            "visibility": "public",
            "action": "send",
        },
    )

    assert response.status_code == 400
    assert kudos_count(session) == 0


def test_messages_are_shown_escaped_with_emoji_and_right_to_left_text_intact(
    browser, session, signed_in, colleagues
):
    message = "<script>alert('x')</script> 🎉🙌 شكراً جزيلاً\nשורה שנייה"
    send(browser, session, colleagues[:1], message=message)

    page = browser.get("/").get_data(as_text=True)

    assert "<script>alert(" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; 🎉🙌 شكراً جزيلاً\nשורה שנייה" in page
    assert session.scalars(select(Kudos.message)).one() == message


def test_a_two_megabyte_form_is_refused(browser, session, signed_in, colleagues):
    response = send(browser, session, colleagues[:1], message="x" * (2 * 1024 * 1024))

    assert response.status_code == 413
    assert kudos_count(session) == 0


def test_people_suggestions_as_you_type(client, signed_in, make):
    grace = make.person(name="Grace Hopper", title="Admiral")
    make.person(name="Grace Gone", active=False)

    response = client.get("/people/suggest?q=gra")

    assert response.status_code == 200
    assert [(p["id"], p["name"]) for p in response.json] == [(grace.id, "Grace Hopper")]
    assert client.get("/people/suggest?q=ada").json == []  # never yourself


def test_recognitions_record_time_and_sender(browser, session, signed_in, colleagues):
    before = utcnow() - timedelta(seconds=5)
    send(browser, session, colleagues)

    rows = session.scalars(select(Recognition)).all()
    assert {r.sender_id for r in rows} == {signed_in.id}
    assert all(r.created_at >= before and r.acknowledged_at is None for r in rows)


def test_anonymous_people_cannot_compose(client):
    assert client.get("/kudos/new").status_code == 302
    assert client.post("/kudos/new").status_code in (302, 400)


def test_suggestions_need_sign_in(client, make):
    make.person(name="Grace Hopper")

    response = client.get("/people/suggest?q=gra")

    assert response.status_code == 302


def test_another_person_is_signed_in_for_each_client(client, app, make):
    # Sanity check of the helper used across these tests.
    person = make.person()
    sign_in(client, person)
    assert client.get("/kudos/new").status_code == 200
