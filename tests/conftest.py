"""Fixtures shared by every test: an app on a migrated database, clients, makers.

Tests run on a SQLite file by default; set ``SIPAS_TEST_DATABASE_URL`` (for
instance ``postgresql://sipas@127.0.0.1/sipas_test``) to run them on PostgreSQL.
"""

from __future__ import annotations

import os

import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import text

from survey import create_app
from survey.extensions import db


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("SIPAS_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def migrated(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Bring the test database to the head revision once per session."""
    app = create_app(_test_config(database_url, tmp_path_factory.mktemp("instance")))
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()
    return database_url


def _test_config(database_url: str, instance) -> dict:
    from survey.config import normalise_database_url

    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "PUBLIC_URL": "http://localhost",
        "INSTANCE": str(instance),
        # Full-strength hashing is tested in test_auth; elsewhere it only slows tests down.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }


class FreshContextClient(FlaskClient):
    """Each request gets its own app context, as in production.

    The test itself runs inside an app context (to use ``db.session``);
    without this, requests would share its ``g`` (signed-in user, locale)
    and its database session.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def make_app(migrated: str, tmp_path):
    """Create the test app with config overrides, inside its app context."""
    contexts = []

    def make(**overrides):
        app = create_app({**_test_config(migrated, tmp_path), **overrides})
        app.test_client_class = FreshContextClient
        context = app.app_context()
        context.push()
        contexts.append(context)
        return app

    yield make
    db.session.remove()
    _empty_tables()
    for context in reversed(contexts):
        context.pop()


@pytest.fixture
def app(make_app):
    return make_app()


def _empty_tables() -> None:
    with db.engine.begin() as connection:
        for table in reversed(db.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


PASSWORD = "correct horse battery"


@pytest.fixture
def make_user(app):
    """Create a back-office user (committed): ``make_user("a@x.vn", "surveyor", units=[u])``.

    Every role but a national administrator needs units.
    """
    from survey.services.users import create_user

    def make(
        email: str = "admin@example.vn",
        role: str = "admin",
        password: str = PASSWORD,
        units=(),
    ):
        user = create_user(email, role, list(units), password=password)
        db.session.commit()
        return user

    return make


def sign_in(client, email: str, password: str = PASSWORD):
    """Sign ``client`` in with the interface in English; returns the response."""
    client.get("/auth/login?lang=en")
    return client.post("/auth/login", data={"email": email, "password": password})


@pytest.fixture
def login(client, make_user):
    """Sign ``client`` in as a new user of ``role`` (with ``units``), interface in English."""

    def log_in(role: str = "admin", email: str | None = None, units=()):
        user = make_user(email or f"{role}@example.vn", role, units=units)
        response = sign_in(client, user.email)
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    return log_in
