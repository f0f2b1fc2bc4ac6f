"""What PostgreSQL plans with: statistics right after `kudos seed`, and
connections that never JIT-compile a plan (issue 13: a freshly seeded
database spent ~300 ms a feed page compiling over-costed plans)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import func, make_url, select, text

from kudos import create_app
from kudos.db import make_engine, utcnow
from kudos.extensions import db
from kudos.people.models import Person
from kudos.recognition.models import Kudos, Recognition
from kudos.summary import services as summary_services
from kudos.timeutil import Month


def test_seed_leaves_planner_statistics_for_what_it_added(runner, session):
    result = runner.invoke(args=["seed", "--users", "40", "--kudos", "300", "--months", "2"])

    assert result.exit_code == 0, result.output
    # ANALYZE counts the rows this transaction added; without it the tables
    # read as never analysed (-1) or as they were before (empty).
    for model in (Person, Kudos, Recognition):
        rows = session.scalar(select(func.count()).select_from(model))
        estimate = session.scalar(
            text("SELECT reltuples FROM pg_class WHERE relname = :table"),
            {"table": model.__tablename__},
        )
        assert estimate == rows, model.__tablename__
    assert session.scalar(
        text("SELECT count(*) FROM pg_stats WHERE tablename = 'kudos' AND attname = 'created_at'")
    )


def test_the_apps_connections_run_without_jit(database_url):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": database_url})
    engine = db.engine(app)
    with engine.connect() as connection:
        jit = connection.exec_driver_sql("SHOW jit").scalar()
    engine.dispose()

    assert jit == "off"


def test_options_given_in_the_url_are_kept_beside_jit_off(database_url):
    url = make_url(database_url).update_query_dict({"options": "-c statement_timeout=4321"})
    engine = make_engine(url.render_as_string(hide_password=False))
    with engine.connect() as connection:
        jit = connection.exec_driver_sql("SHOW jit").scalar()
        timeout = connection.exec_driver_sql("SHOW statement_timeout").scalar()
    engine.dispose()

    assert (jit, timeout) == ("off", "4321ms")


def test_the_summary_tunes_the_planner_for_its_own_statements_only(session, make, monkeypatch):
    """Its statements run without parallel workers and with
    random_page_cost 1.1 (the plan cache mode left as it is); before and
    after them the transaction has the settings it had, whatever they were."""
    manager = make.person(name="Maya Manager")
    make.kudos(make.person(name="Ann Archer"), [make.person(name="Sam Report", manager=manager)])
    session.execute(text("SET LOCAL random_page_cost = 2.5"))
    session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))

    def settings() -> tuple[str, ...]:
        return tuple(
            session.execute(
                text(
                    "SELECT current_setting('max_parallel_workers_per_gather'), "
                    "current_setting('plan_cache_mode'), current_setting('random_page_cost')"
                )
            ).one()
        )

    during = []
    team = summary_services._team

    def watched_team(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        during.append(settings())
        return team(*args, **kwargs)

    monkeypatch.setattr(summary_services, "_team", watched_team)
    before = settings()
    now = utcnow()
    month = Month.containing(now, ZoneInfo("UTC"))
    summary = summary_services.build_summary(
        session, manager, month, now=now, zone=ZoneInfo("UTC"), viewer=manager
    )

    assert summary.totals.received == 1
    assert during == [("0", "force_generic_plan", "1.1")]
    assert before[1:] == ("force_generic_plan", "2.5")
    assert settings() == before
