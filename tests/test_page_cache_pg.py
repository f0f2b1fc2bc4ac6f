"""The page cache's PostgreSQL fast path: the token is read in autocommit,
straight on the pooled connection (``kudos/cache.py``). Collected only for
the PostgreSQL run (conftest.py)."""

from __future__ import annotations

from sqlalchemy import delete, event
from sqlalchemy.orm import Session

from kudos import create_app
from kudos.db import make_engine, utcnow
from kudos.people.models import Person
from tests.conftest import TEST_SECRET_KEY, sign_in


def test_reading_the_cache_token_returns_connections_to_the_pool_transactional(
    engine, database_url
):
    """On PostgreSQL the token is read in autocommit before the request's
    transaction, and a page is then served from the cache; the connection
    must go back to the pool as it was, or later requests would write
    statement by statement, without rollback."""
    app = create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET_KEY, "DATABASE_URL": database_url})
    app_engine = app.extensions["kudos.db"].kw["bind"]
    writer_engine = make_engine(database_url)
    email = f"pool-{utcnow().timestamp()}@acme.example.com"
    try:
        with Session(writer_engine) as writer:
            person = Person(name="Pat Pool", email=email, onboarding_postponed_at=utcnow())
            writer.add(person)
            writer.commit()
            client = app.test_client()
            sign_in(client, person)
            assert client.get("/leaderboard").status_code == 200
            # The token read this way works: the second view is a cache hit.
            statements: list[str] = []
            listener = lambda *args: statements.append(args[2])  # noqa: E731
            event.listen(app_engine, "before_cursor_execute", listener)
            try:
                assert client.get("/leaderboard").status_code == 200
            finally:
                event.remove(app_engine, "before_cursor_execute", listener)
            assert not [sql for sql in statements if "leaderboard_score" in sql]

        pooled = [app_engine.raw_connection() for _ in range(app_engine.pool.checkedin() or 1)]
        try:
            assert [c.driver_connection.autocommit for c in pooled] == [False] * len(pooled)
        finally:
            for connection in pooled:
                connection.close()
    finally:
        with Session(writer_engine) as cleaner:
            cleaner.execute(delete(Person).where(Person.email == email))
            cleaner.commit()
        writer_engine.dispose()
        app_engine.dispose()
