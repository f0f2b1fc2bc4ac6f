"""New kudos are celebrated once, the way each recipient chose."""

from __future__ import annotations

from kudos.db import utcnow
from kudos.preferences.models import RecognitionPreference
from tests.conftest import sign_in


def person_with_style(make, session, style, **fields):
    person = make.person(**fields)
    session.add(RecognitionPreference(person=person, style=style, audience="public"))
    session.commit()
    return person


def test_a_celebratory_recipient_gets_a_celebration_once(client, make, session):
    fan = person_with_style(make, session, "celebratory", name="Fay Fan")
    sender = make.person(name="Sam Sender")
    make.kudos(sender, [fan], message="You saved the launch!", values=["ownership"])
    sign_in(client, fan)

    first = client.get("/").get_data(as_text=True)
    second = client.get("/").get_data(as_text=True)

    assert 'class="celebration"' in first
    assert "<bdi>Sam</bdi> just thanked you!" in first
    assert "You saved the launch!" in first
    assert "for Ownership" in first
    assert "data-fanfare" in first  # plays only when clicked
    assert 'class="confetti"' in first
    assert 'class="balloon"' in first
    assert 'class="celebration"' not in second


def test_a_low_key_recipient_gets_a_quiet_notice_and_never_a_celebration(client, make, session):
    quiet = person_with_style(make, session, "low_key")
    make.kudos(make.person(name="Sam Sender"), [quiet], message="Thanks for the review.")
    sign_in(client, quiet)

    first = client.get("/").get_data(as_text=True)
    second = client.get("/").get_data(as_text=True)

    assert 'class="quiet-notice"' in first
    assert "Sam Sender</strong> thanked you" in first
    assert 'class="celebration"' not in first
    assert "confetti" not in first.split("</head>", 1)[1]
    assert 'class="quiet-notice"' not in second


def test_people_without_preferences_get_the_quiet_notice(client, make):
    person = make.person()
    make.kudos(make.person(), [person])
    sign_in(client, person)

    page = client.get("/").get_data(as_text=True)

    assert 'class="quiet-notice"' in page
    assert 'class="celebration"' not in page


def test_several_kudos_are_summed_up_in_one_celebration(client, make, session):
    fan = person_with_style(make, session, "celebratory")
    for name in ("Ann One", "Ben Two", "Cat Three"):
        make.kudos(make.person(name=name), [fan])
    sign_in(client, fan)

    page = client.get("/").get_data(as_text=True)

    assert "thanked 3 times" in page
    assert page.count('class="celebration"') == 1


def test_hidden_kudos_are_not_celebrated_and_senders_see_nothing(client, make, session):
    fan = person_with_style(make, session, "celebratory")
    sender = make.person()
    kudos = make.kudos(sender, [fan])
    kudos.hidden_at, kudos.hidden_reason = utcnow(), "Moderated"
    session.commit()

    sign_in(client, fan)
    assert 'class="celebration"' not in client.get("/").get_data(as_text=True)
    sign_in(client, sender)
    assert "thanked you" not in client.get("/").get_data(as_text=True)


def test_json_answers_and_redirects_do_not_use_up_the_celebration(client, make, session):
    fan = person_with_style(make, session, "celebratory")
    make.kudos(make.person(), [fan])
    sign_in(client, fan)

    client.get("/people/suggest?q=x")
    client.get("/login")  # signed in: a redirect to the feed

    assert 'class="celebration"' in client.get("/").get_data(as_text=True)


def test_the_newest_kudos_leads_with_its_values_and_the_senders_are_named_once(
    client, make, session
):
    quiet = person_with_style(make, session, "low_key")
    ann, ben = make.person(name="Ann One"), make.person(name="Ben Two")
    for number in range(6):  # more than a celebration shows
        make.kudos(ann if number % 2 else ben, [quiet], message=f"Number {number}.")
    make.kudos(ann, [quiet], message="The newest.", values=["ownership", "responsive"])
    sign_in(client, quiet)

    page = client.get("/").get_data(as_text=True)

    assert "You have 7 new thank-yous, from Ann, Ben and more." in " ".join(page.split())


def test_a_single_kudos_names_its_values_in_the_companys_order(client, make, session):
    fan = person_with_style(make, session, "celebratory")
    make.kudos(make.person(name="Sam Sender"), [fan], values=["ownership", "responsive"])
    sign_in(client, fan)

    page = client.get("/").get_data(as_text=True)

    assert "— <bdi>Sam Sender</bdi>, for Responsive and Ownership</footer>" in page
