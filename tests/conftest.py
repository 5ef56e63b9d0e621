"""Fixtures shared by every test: an app on a migrated database, clients, makers.

Tests run on a SQLite file by default; set ``SIPAS_TEST_DATABASE_URL`` (for
instance ``postgresql://sipas@127.0.0.1/sipas_test``) to run them on PostgreSQL.
"""

from __future__ import annotations

import os

import pytest
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
    }


@pytest.fixture
def app(migrated: str, tmp_path):
    app = create_app(_test_config(migrated, tmp_path))
    with app.app_context():
        yield app
        db.session.remove()
        _empty_tables()


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
