"""Kudos announced in Slack the way each recipient wants, through the
outbox and the stand-in Web API: festive or plain, named or told
privately, never wider than the kudos' visibility; deleted when the kudos
is hidden, deleted or made more private; delivered once, after Slack was
down or busy."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from kudos import timeutil
from kudos.audit.models import AuditEntry
from kudos.db import utcnow
from kudos.extensions import db
from kudos.outbox.models import OutboxMessage
from kudos.people.models import Person
from kudos.preferences.models import RecognitionPreference
from kudos.preferences.services import PreferenceChoices, save_preferences
from kudos.recognition.models import Kudos, Reaction, Value
from kudos.recognition.services import (
    delete_kudos,
    hide_kudos,
    send_kudos,
    toggle_reaction,
)
from kudos.slack import delivery
from kudos.slack.models import SlackPost
from tests.slack_requests import CHANNEL, TEAM_CHANNEL, SlackClient, slack_settings

ADA, BEN, CY, DEE = "U0ADA", "U0BEN", "U0CY", "U0DEE"


@pytest.fixture
def app_overrides(slack):
    return slack_settings(slack)


@pytest.fixture
def people(make, session, slack):
    platform = make.team("Platform")
    found = {
        "ada": make.person(name="Ada Lovelace", email="ada@acme.example.com"),
        "ben": make.person(name="Ben Okafor", email="ben@acme.example.com", team=platform),
        "cy": make.person(name="Cy <Young>", email="cy@acme.example.com"),
        "dee": make.person(name="Dee Onlooker", email="dee@acme.example.com"),
    }
    for user, key in ((ADA, "ada"), (BEN, "ben"), (CY, "cy"), (DEE, "dee")):
        slack.add_user(user, found[key].email, found[key].name)
    slack.add_channel(CHANNEL)
    slack.add_channel(TEAM_CHANNEL)
    return found


def prefer(session, person, **choices):
    session.add(RecognitionPreference(person=person, **choices))
    session.commit()


def send(app, sender, recipients, *, visibility="public", message="Thanks for the fix!"):
    # Ids first: the test's session must not start a savepoint inside the app's.
    sender_id, recipient_ids = sender.id, [person.id for person in recipients]
    with app.test_request_context():
        responsive = db.session.scalar(select(Value.id).where(Value.slug == "responsive"))
        kudos = send_kudos(
            db.session,
            db.session.get(Person, sender_id),
            recipient_ids,
            [responsive],
            message,
            visibility,
            now=utcnow(),
            zone=timeutil.org_zone(),
            daily_limit=100,
        ).kudos
        db.session.commit()
        return kudos.id


def as_person(app, person, action):
    """Run ``action(session, person)`` in a request, as ``person``; commits."""
    person_id = person.id
    with app.test_request_context():
        action(db.session, db.session.get(Person, person_id))
        db.session.commit()


def deliver(app, *, at=None):
    with app.app_context():
        return delivery.deliver_due(db.session, delivery.web_client(), now=at or utcnow())


def text_of(message) -> str:
    return message.get("text", "") + json.dumps(message.get("blocks", []), ensure_ascii=False)


def posts_to_channels(slack):
    return [
        call["args"]["channel"]
        for call in slack.calls_to("chat.postMessage")
        if call["args"]["channel"].startswith(("C", "G"))
    ]


def test_a_public_kudos_is_festive_for_the_celebratory_and_plain_for_the_low_key(
    app, session, slack, people
):
    prefer(session, people["ben"], style="celebratory")
    prefer(session, people["cy"], style="low_key")
    send(app, people["ada"], [people["ben"], people["cy"]])

    assert str(deliver(app)) == "1 sent, 0 to retry later, 0 failed."

    [post] = slack.messages_in(CHANNEL)
    shown = text_of(post)
    assert f"Air horns and balloons for <@{BEN}>!" in shown  # Ben, pinged and cheered
    assert "*Cy &lt;Young&gt;*" in shown  # Cy, named plainly ...
    assert f"<@{CY}>" not in shown  # ... never pinged
    assert "Air horns and balloons for <@U0BEN> and" not in shown


def test_a_low_key_only_kudos_is_a_plain_post(app, session, slack, people):
    prefer(session, people["cy"], style="low_key")
    send(app, people["ada"], [people["cy"]])
    deliver(app)

    [post] = slack.messages_in(CHANNEL)
    assert "Air horns" not in text_of(post)
    assert ":tada:" not in text_of(post)
    assert "<@" not in text_of(post)


def test_who_asked_to_be_left_out_is_not_named_and_is_told_privately(app, session, slack, people):
    prefer(session, people["ben"], style="celebratory")
    prefer(session, people["cy"], style="low_key", in_slack_channel=False)
    send(app, people["ada"], [people["ben"], people["cy"]])
    deliver(app)

    [post] = slack.messages_in(CHANNEL)
    assert "Cy" not in text_of(post)
    [told] = slack.messages_in(CY)
    assert "asked not to be named" in text_of(told)
    assert slack.messages_in(BEN) == []  # Ben chose no Slack messages


def test_nobody_left_to_name_means_no_channel_post(app, session, slack, people):
    prefer(session, people["cy"], in_slack_channel=False)
    send(app, people["ada"], [people["cy"]])
    deliver(app)

    assert posts_to_channels(slack) == []
    assert len(slack.messages_in(CY)) == 1


def test_a_team_kudos_never_reaches_the_company_channel(app, session, slack, people):
    send(app, people["ada"], [people["ben"]], visibility="team")
    send(app, people["ada"], [people["cy"]], visibility="team")  # no team channel for Cy
    deliver(app)

    assert posts_to_channels(slack) == [TEAM_CHANNEL]
    assert slack.messages_in(CHANNEL) == []


def test_a_private_kudos_is_only_ever_a_direct_message(app, session, slack, people):
    prefer(session, people["ben"], audience="public", slack_opt_in=True, style="celebratory")
    send(app, people["ada"], [people["ben"], people["cy"]], visibility="private")
    deliver(app)

    assert posts_to_channels(slack) == []
    calls = slack.calls_to("chat.postMessage")
    assert [call["args"]["channel"] for call in calls] == [BEN]
    assert ":tada:" in text_of(slack.messages_in(BEN)[0])


def test_a_recipients_private_wish_keeps_a_public_kudos_out_of_channels(
    app, session, slack, people
):
    prefer(session, people["ben"], audience="private")
    send(app, people["ada"], [people["ben"], people["cy"]], visibility="public")
    deliver(app)

    assert posts_to_channels(slack) == []


def test_slack_being_down_keeps_messages_queued_and_delivers_them_once(app, session, slack, people):
    prefer(session, people["ben"], slack_opt_in=True)
    send(app, people["ada"], [people["ben"]])
    now = utcnow()

    slack.set_down(True)
    down = deliver(app, at=now)
    slack.set_down(False)

    assert (down.sent, down.retrying) == (0, 1)
    assert session.scalars(select(OutboxMessage.status)).all() == ["pending", "pending"]
    assert slack.messages_in(CHANNEL) == []
    too_soon = deliver(app, at=now + timedelta(seconds=5))
    later = deliver(app, at=now + timedelta(minutes=5))
    again = deliver(app, at=now + timedelta(hours=2))

    assert too_soon.sent == 1  # the message the run stopped before; the failed one waits
    assert later.sent == 1
    assert again.sent == 0
    assert len(slack.messages_in(CHANNEL)) == 1
    assert len(slack.messages_in(BEN)) == 1


@pytest.mark.parametrize(
    ("fault", "wait"),
    [
        ({"status": 429, "retry_after": 120}, 120),
        ({"error": "ratelimited", "status": 429}, 60),
    ],
)
def test_a_busy_slack_is_not_asked_again_before_it_said(app, session, slack, people, fault, wait):
    send(app, people["ada"], [people["ben"]])
    now = utcnow()
    slack.fail_next("chat.postMessage", **fault)

    assert deliver(app, at=now).retrying == 1
    assert deliver(app, at=now + timedelta(seconds=wait - 1)).sent == 0
    assert deliver(app, at=now + timedelta(seconds=wait + 1)).sent == 1
    assert len(slack.messages_in(CHANNEL)) == 1


def test_a_missing_channel_fails_that_message_and_the_rest_go_on(app, session, slack, people):
    prefer(session, people["ben"], slack_opt_in=True)
    send(app, people["ada"], [people["ben"]])
    slack.fail_next("chat.postMessage", "channel_not_found")

    report = deliver(app)

    assert (report.sent, report.failed) == (1, 1)
    failed = session.scalars(select(OutboxMessage).where(OutboxMessage.status == "failed")).one()
    assert "channel_not_found" in failed.last_error
    assert len(slack.messages_in(BEN)) == 1
    status = app.test_cli_runner().invoke(args=["outbox", "status"]).output
    assert status == "E-mail: 0 pending, 0 sent, 0 failed\nSlack: 0 pending, 1 sent, 1 failed\n"


def test_hiding_a_kudos_deletes_its_posts_and_the_audit_says_so(app, session, slack, people):
    prefer(session, people["ben"], slack_opt_in=True)
    admin = people["dee"]
    kudos_id = send(app, people["ada"], [people["ben"]])
    deliver(app)
    assert len(slack.messages_in(CHANNEL)) == len(slack.messages_in(BEN)) == 1

    as_person(
        app,
        admin,
        lambda s, dee: hide_kudos(
            s,
            dee,
            s.get(Kudos, kudos_id),
            "Names a customer",
            now=utcnow(),
            zone=timeutil.org_zone(),
        ),
    )
    deliver(app)

    assert slack.messages_in(CHANNEL) == []
    assert slack.messages_in(BEN) == []
    assert len(slack.calls_to("chat.delete")) == 2
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "kudos.hidden")).one()
    assert entry.details["slack_posts_deleted"] == 2


def test_a_kudos_hidden_before_its_post_went_out_is_never_posted(app, session, slack, people):
    kudos_id = send(app, people["ada"], [people["ben"]])
    as_person(
        app,
        people["dee"],
        lambda s, dee: hide_kudos(
            s, dee, s.get(Kudos, kudos_id), "Oops", now=utcnow(), zone=timeutil.org_zone()
        ),
    )

    deliver(app)

    assert slack.calls_to("chat.postMessage") == []


def test_the_sender_taking_a_kudos_back_deletes_its_post(app, session, slack, people):
    kudos_id = send(app, people["ada"], [people["ben"]])
    deliver(app)

    as_person(
        app,
        people["ada"],
        lambda s, ada: delete_kudos(
            s, ada, s.get(Kudos, kudos_id), now=utcnow(), zone=timeutil.org_zone()
        ),
    )
    deliver(app)

    assert slack.messages_in(CHANNEL) == []


def save(app, person, **choices):
    defaults = {
        "audience": "public",
        "style": "low_key",
        "email_opt_in": False,
        "on_leaderboards": True,
        "favourite_value_ids": [],
        "best_way_to_thank": None,
    }
    as_person(
        app,
        person,
        lambda s, someone: save_preferences(
            s, someone, PreferenceChoices(**{**defaults, **choices}), now=utcnow()
        ),
    )


def test_a_recipient_narrowing_their_audience_takes_the_post_down(app, session, slack, people):
    send(app, people["ada"], [people["ben"]])
    deliver(app)

    save(app, people["ben"], audience="team")
    deliver(app)

    assert slack.messages_in(CHANNEL) == []


def test_a_recipient_leaving_channel_posts_is_taken_out_of_theirs(app, session, slack, people):
    send(app, people["ada"], [people["ben"], people["cy"]])
    deliver(app)
    assert "Cy" in text_of(slack.messages_in(CHANNEL)[0])

    save(app, people["cy"], in_slack_channel=False)
    deliver(app)

    [post] = slack.messages_in(CHANNEL)
    assert "Cy" not in text_of(post)
    assert "Ben" in text_of(post)


def test_applause_from_slack_counts_once_and_the_post_shows_it(app, client, session, slack, people):
    kudos_id = send(app, people["ada"], [people["ben"]])
    deliver(app)
    [post] = slack.messages_in(CHANNEL)
    slack_client = SlackClient(client, slack)

    def click(user):
        return slack_client.click(
            {"action_id": "kudos_applaud", "value": str(kudos_id), "type": "button"},
            user=user,
            channel={"id": CHANNEL},
            message={"ts": post["ts"]},
            container={"type": "message", "channel_id": CHANNEL, "message_ts": post["ts"]},
        )

    assert click(DEE).status_code == 200
    assert session.scalars(select(Reaction.person_id)).all() == [people["dee"].id]
    assert "Applaud (1)" in text_of(slack.messages_in(CHANNEL)[0])

    click(BEN)  # a recipient: told why not, privately
    assert (
        "can't applaud kudos you received"
        in slack.calls_to("chat.postEphemeral")[-1]["args"]["text"]
    )
    assert len(session.scalars(select(Reaction)).all()) == 1

    click(DEE)  # again: the applause is taken back
    assert session.scalars(select(Reaction)).all() == []
    assert "Applaud (" not in text_of(slack.messages_in(CHANNEL)[0])


def test_applause_on_the_web_reaches_the_post(app, session, slack, people):
    kudos_id = send(app, people["ada"], [people["ben"]])
    deliver(app)

    as_person(
        app,
        people["dee"],
        lambda s, dee: toggle_reaction(s, dee, s.get(Kudos, kudos_id), now=utcnow()),
    )
    deliver(app)

    assert "Applaud (1)" in text_of(slack.messages_in(CHANNEL)[0])


def test_user_text_cannot_ping_the_channel_or_hide_links(app, slack, people):
    send(app, people["ada"], [people["ben"]], message="<!channel> look <https://evil.example|here>")
    deliver(app)

    shown = text_of(slack.messages_in(CHANNEL)[0])
    assert "<!channel>" not in shown
    assert "&lt;!channel&gt;" in shown
    assert "<https://evil.example" not in shown


def test_a_kudos_hidden_while_its_post_is_on_the_way_loses_the_post(
    app, session, slack, people, monkeypatch
):
    """The post is made, then the kudos turns out hidden (a moderator was
    quicker, between rendering and recording): the post goes at once."""
    kudos_id = send(app, people["ada"], [people["ben"]])
    post = delivery.WebClient.chat_postMessage

    def post_then_hide(client, **arguments):
        answer = post(client, **arguments)
        db.session.execute(
            update(Kudos).where(Kudos.id == kudos_id).values(hidden_at=utcnow(), hidden_reason="x")
        )
        return answer

    monkeypatch.setattr(delivery.WebClient, "chat_postMessage", post_then_hide)

    deliver(app)
    monkeypatch.undo()
    deliver(app)  # its deletion, queued: a failure to delete would be retried

    assert len(slack.calls_to("chat.postMessage")) == 1
    assert slack.messages_in(CHANNEL) == []
    assert session.scalars(select(SlackPost)).all() == []


def kudos_posted(message_or_args) -> int:
    """The kudos a channel post is about (its applause buttons' block)."""
    [block_id] = [
        block["block_id"]
        for block in message_or_args.get("blocks", [])
        if block.get("block_id", "").startswith("kudos_")
    ]
    return int(block_id.removeprefix("kudos_"))


def test_a_burst_is_posted_as_slack_allows_once_each_never_before_retry_after(
    app, session, slack, people
):
    kudos_ids = [
        send(app, people["ada"], [people["ben"]], message=f"Thanks, number {n}!") for n in range(6)
    ]
    slack.clock = lambda: 0.0  # frozen; advanced below in step with the deliveries' time
    now = at = utcnow()

    first = deliver(app, at=at)
    assert (first.sent, first.retrying) == (3, 1)  # a burst of 3, then Slack says wait
    pending = select(OutboxMessage).where(
        OutboxMessage.transport == "slack", OutboxMessage.status == "pending"
    )
    assert len(session.scalars(pending).all()) == 3  # the one refused, the two never tried
    [waiting] = [message for message in session.scalars(pending) if message.attempts]
    told = slack.calls_to("chat.postMessage")[-1]
    assert (told["status"], told["retry_after"]) == (429, 3)
    assert "ratelimited" in waiting.last_error
    assert waiting.next_attempt_at >= now + timedelta(seconds=told["retry_after"])

    for _ in range(10):  # a worker: runs again when Slack allows and something is due
        due = [message.next_attempt_at for message in session.scalars(pending)]
        if not due:
            break
        limited = [c for c in slack.calls_to("chat.postMessage") if c["status"] == 429]
        allowed_at = at + timedelta(seconds=limited[-1]["retry_after"])
        later = max(allowed_at, min(due))
        slack.advance((later - at).total_seconds())
        at = later
        deliver(app, at=at)
    assert session.scalars(select(OutboxMessage.status)).all() == ["sent"] * 6

    posted = sorted(kudos_posted(m) for m in slack.messages_in(CHANNEL))
    assert posted == sorted(kudos_ids)  # six posts, one per kudos
    assert sorted(session.scalars(select(SlackPost.kudos_id)).all()) == sorted(kudos_ids)

    calls = slack.calls_to("chat.postMessage")
    refused = [call for call in calls if call["status"] == 429]
    assert refused, "the burst was never limited"
    for no in refused:
        retry = next(
            call
            for call in calls[calls.index(no) + 1 :]
            if kudos_posted(call["args"]) == kudos_posted(no["args"])
        )
        assert retry["at"] >= no["at"] + no["retry_after"]  # never sooner than Slack asked
        assert retry["answered_with"] == "ok"


def test_a_channel_the_app_was_not_invited_to_fails_its_post_and_the_rest_go_on(
    app, session, slack, people
):
    uninvited = "C0UNINVITED"
    slack.add_channel(uninvited, member=False)
    app.config["SLACK_CHANNEL"] = uninvited
    prefer(session, people["ben"], slack_opt_in=True)
    send(app, people["ada"], [people["ben"]])

    report = deliver(app)

    assert (report.sent, report.failed, report.retrying) == (1, 1, 0)
    failed = session.scalars(select(OutboxMessage).where(OutboxMessage.status == "failed")).one()
    assert failed.payload["channel"] == uninvited
    assert "not_in_channel" in failed.last_error
    assert slack.messages_in(uninvited) == []
    assert len(slack.messages_in(BEN)) == 1  # the direct message still went
    assert deliver(app, at=utcnow() + timedelta(hours=2)).sent == 0  # failed stays failed
