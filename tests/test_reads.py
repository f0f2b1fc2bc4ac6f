"""The signed-in person as kept between requests: made from one plain row,
read with the cache's freshness (``auth.sessions.read_signed_in``), it must
be the person the ORM would load."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect, select
from sqlalchemy.orm import joinedload, undefer

from kudos.auth.sessions import read_signed_in
from kudos.extensions import db
from kudos.people.models import Person
from kudos.preferences.models import RecognitionPreference


def _state(instance: object | None) -> dict[str, object] | None:
    """Every loaded column of ``instance``; nothing is left to load but
    whether a person has news, which each request reads for itself."""
    if instance is None:
        return None
    state = inspect(instance)
    assert state.expired_attributes <= {"has_unseen_recognitions"}
    return {
        attribute.key: getattr(instance, attribute.key)
        for attribute in state.mapper.column_attrs
        if attribute.key in state.dict
    }


def test_a_kept_person_is_the_person_the_orm_loads(app, session, make):
    platform, engineering = make.team("Platform"), make.department("Engineering")
    boss = make.person(name="Bo Boss", team=platform, department=engineering)
    report = make.person(name="Ria Report", manager=boss, new=True)
    session.add(
        RecognitionPreference(
            person_id=boss.id,
            audience="team",
            style="celebratory",
            best_way_to_thank="A note, please",
            created_at=datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
        )
    )
    session.commit()

    with app.test_request_context():
        for person in (boss, report):
            fresh, kept = read_signed_in(person.id)
            loaded = db.session.scalar(
                select(Person)
                .where(Person.id == person.id)
                .options(undefer(Person.has_reports), joinedload(Person.preference))
                .execution_options(populate_existing=True)
            )
            assert inspect(kept).detached
            assert inspect(kept).key == inspect(loaded).key
            assert {**_state(kept), "has_unseen_recognitions": None} == {
                **_state(loaded),
                "has_unseen_recognitions": None,
            }
            assert kept.has_reports is (person is boss)
            for part in ("team", "department", "preference"):
                assert _state(getattr(kept, part)) == _state(getattr(loaded, part)), part
            assert kept.created_at.tzinfo is not None
            assert fresh.unseen is False  # nobody thanked either of them
        assert kept.team is None  # the report has no team
        assert kept.preference is None  # nor preferences
        assert read_signed_in(report.id + 1000) is None


def test_a_kept_person_is_read_again_once_anything_changes(app, session, make):
    ann, bob = make.person(name="Ann Archer"), make.person(name="Bob Baker")
    with app.test_request_context():
        _, first = read_signed_in(ann.id)
    with app.test_request_context():
        _, again = read_signed_in(ann.id)
    assert again is first  # kept, not made again

    ann.name = "Ann Abbott"
    session.commit()
    with app.test_request_context():
        fresh, renamed = read_signed_in(ann.id)
    assert renamed.name == "Ann Abbott"
    assert fresh.unseen is False

    make.kudos(bob, [ann])  # a send keeps the person, not their news
    with app.test_request_context():
        fresh, kept = read_signed_in(ann.id)
    assert kept is renamed
    assert fresh.unseen is True
