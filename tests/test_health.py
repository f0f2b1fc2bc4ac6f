"""/healthz reports the database's state to load balancers, without sign-in."""

from kudos import create_app


def test_healthy_when_the_database_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_unavailable_when_the_database_is_unreachable(tmp_path):
    unreachable = f"sqlite:///{tmp_path}/no/such/dir/kudos.sqlite3"
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": unreachable})

    response = app.test_client().get("/healthz")

    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "database": "unreachable"}


def test_unavailable_when_the_database_server_refuses_connections():
    # Port 9 (discard) on loopback: nothing listens, the connection is refused.
    refused = "postgresql+psycopg://kudos@127.0.0.1:9/kudos?connect_timeout=2"
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": refused})

    response = app.test_client().get("/healthz")

    assert response.status_code == 503


def test_pages_answer_503_not_500_when_the_database_is_unreachable(tmp_path):
    unreachable = f"sqlite:///{tmp_path}/no/such/dir/kudos.sqlite3"
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": unreachable})
    client = app.test_client()
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = "1:1"

    response = client.get("/")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "very busy" in response.get_data(as_text=True)
