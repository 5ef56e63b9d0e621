from survey import create_app
from survey.auth.policy import public
from survey.config import normalise_database_url


def test_config_defaults_to_sqlite_in_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("SIPAS_DATABASE_URL", raising=False)
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("instance/sipas.sqlite3")


def test_database_url_from_environment(monkeypatch):
    monkeypatch.setenv("SIPAS_DATABASE_URL", "postgresql://u:p@127.0.0.1/sipas")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@127.0.0.1/sipas"


def test_test_config_overrides():
    assert create_app({"TESTING": True}).testing


def test_postgres_scheme_is_normalised():
    assert normalise_database_url("postgres://x/y") == "postgresql+psycopg://x/y"
    assert normalise_database_url("sqlite:///a") == "sqlite:///a"


def test_secret_key_is_generated_once_into_instance_folder(tmp_path, monkeypatch):
    from survey.config import instance_secret_key

    first = instance_secret_key(tmp_path)
    assert len(first) == 64
    assert instance_secret_key(tmp_path) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_cookies_are_http_only_and_secure_behind_https(monkeypatch):
    monkeypatch.setenv("SIPAS_PUBLIC_URL", "https://sipas.example.gov.vn")
    app = create_app()
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SECURE"] is True
    monkeypatch.setenv("SIPAS_PUBLIC_URL", "")
    assert create_app().config["SESSION_COOKIE_SECURE"] is False


def test_behind_a_proxy_the_client_address_comes_from_forwarded_for(monkeypatch):
    from flask import request

    monkeypatch.setenv("SIPAS_PROXY_COUNT", "1")
    app = create_app({"TESTING": True, "SECRET_KEY": "x"})

    @app.route("/whoami")
    @public
    def whoami():
        return request.remote_addr

    @app.route("/whereami")
    @public
    def whereami():
        return request.host

    client = app.test_client()
    reply = client.get("/whoami", headers={"X-Forwarded-For": "203.0.113.7"})
    assert reply.get_data(as_text=True) == "203.0.113.7"
    forged = client.get("/whereami", headers={"X-Forwarded-Host": "evil.example"})
    assert forged.get_data(as_text=True) == "localhost"
