"""The SIPAS survey application: ``create_app`` is the factory Flask looks for."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, request, session

#: The root of a source checkout (tests read it); in an installed wheel, site-packages.
ROOT = Path(__file__).resolve().parent.parent


def _folder(name: str) -> Path:
    """A top-level folder of the source tree, or its copy ``survey/_<name>`` in a wheel."""
    shipped = Path(__file__).resolve().parent / f"_{name}"
    return shipped if shipped.is_dir() else ROOT / name


TEMPLATES = _folder("templates")
STATIC = _folder("static")
MIGRATIONS = _folder("migrations")


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the application.

    ``test_config`` overrides the defaults and the ``SIPAS_*`` environment.
    """
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(TEMPLATES),
        static_folder=str(STATIC),
        static_url_path="/static",
    )
    from survey.config import load_config

    load_config(app, test_config)
    if app.config["PROXY_COUNT"]:
        _trust_proxies(app, int(app.config["PROXY_COUNT"]))
    _init_extensions(app)
    _register_blueprints(app)
    _register_cli(app)
    from survey import errors, security

    errors.register(app)
    security.init_app(app)
    return app


def select_locale() -> str:
    """``?lang=`` switches and is remembered in the session; Vietnamese by default."""
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    wanted = request.args.get("lang")
    if wanted in languages:
        session["lang"] = wanted
        return wanted
    remembered = session.get("lang")
    return remembered if remembered in languages else current_app.config["BABEL_DEFAULT_LOCALE"]


def _trust_proxies(app: Flask, count: int) -> None:
    """Behind ``count`` reverse proxies, take the client's address from X-Forwarded-For.

    Without this every phone would share the proxy's address, and the
    per-address submission limit would count them as one. The host is not
    taken from X-Forwarded-Host: the proxy passes Host on (nginx:
    ``proxy_set_header Host $host``), and a client's own header must not
    steer the addresses the application writes.
    """
    from werkzeug.middleware.proxy_fix import ProxyFix

    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)


def _init_extensions(app: Flask) -> None:
    from survey import (
        models,  # noqa: F401  (registers the tables)
        ratelimits,
    )
    from survey.extensions import babel, csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    ratelimits.init_app(app)
    login_manager.init_app(app)
    from survey.services.responses import close_connection

    app.teardown_appcontext(close_connection)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"

    from flask_babel import get_locale, lazy_gettext

    login_manager.login_message = lazy_gettext("Please sign in to see this page.")
    app.jinja_env.globals["get_locale"] = get_locale
    if app.testing:
        # Under test a template that uses a missing attribute fails, not renders blank.
        from jinja2 import StrictUndefined

        app.jinja_env.undefined = StrictUndefined
    app.jinja_env.policies["ext.i18n.trimmed"] = True


def _register_blueprints(app: Flask) -> None:
    """One blueprint per kind of user; every route declares who may use it."""
    from survey import admin, auth, entry, public, workbench
    from survey.auth.policy import check_access, landing_endpoint, may_use

    app.register_blueprint(public.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(entry.bp)
    app.register_blueprint(workbench.bp)
    app.before_request(check_access)
    app.jinja_env.globals["may_use"] = may_use
    app.jinja_env.globals["landing_endpoint"] = landing_endpoint


def _register_cli(app: Flask) -> None:
    from survey.auth.cli import user_cli
    from survey.cli import demo_command, qr_cli, translate_cli
    from survey.entry.cli import paper_cli
    from survey.questionnaire_cli import questionnaire_cli
    from survey.workbench.cli import export_cli, results_cli
    from survey.workbench.wave_cli import wave_cli

    app.cli.add_command(user_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(qr_cli)
    app.cli.add_command(paper_cli)
    app.cli.add_command(translate_cli)
    app.cli.add_command(questionnaire_cli)
    app.cli.add_command(results_cli)
    app.cli.add_command(export_cli)
    app.cli.add_command(wave_cli)
