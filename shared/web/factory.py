"""The one portal factory: config, database session, CSRF, login, Babel, limiter, htmx,
CSP, error pages, session checks (generation, idle and absolute lifetime) and the
access-policy check, for every portal."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

from flask import Blueprint, Flask, flash, g, request, session, url_for
from flask_babel import Babel, get_locale
from flask_babel import gettext as _
from flask_babel import gettext as _gettext
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user, logout_user
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, joinedload
from werkzeug.exceptions import Forbidden, HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from shared.core import clock, jobs, logcontext
from shared.core import db as dbmod
from shared.core import errors as domain_errors
from shared.core.config import Settings
from shared.core.config import load as load_settings
from shared.identity.models import Person, User
from shared.security import crypto
from shared.web import errors, filters, htmx, problems
from shared.web.access import is_static_endpoint, rule_for
from shared.web.principals import Anonymous, CitizenPrincipal, StaffPrincipal
from shared.web.signin import GENERATION, ORG, SEEN, STARTED

log = logging.getLogger(__name__)
WEB_DIR = Path(__file__).resolve().parent
LANGUAGES = ("sv", "en")
SIGN_IN_RATE = "10 per minute;50 per hour"
# Request bodies: a form post is a few kilobytes; the API's largest JSON (an answer with
# 100 debts) is far below its limit. An upload route declares its own (``body_limit``).
FORM_BODY_LIMIT = 64 * 1024
API_BODY_LIMIT = 1024 * 1024

shared_bp = Blueprint(
    "shared",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/shared",
)

HSTS = "max-age=31536000; includeSubDomains"
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def db_session() -> Session:
    """The request's session, opened on first use; committed once after the view."""
    if "db" not in g:
        g.db = dbmod.get().session()
    return g.db


def get_settings(overrides: dict | None) -> Settings:
    settings = (overrides or {}).get("SETTINGS") or load_settings()
    return settings


def init_database(settings: Settings) -> dbmod.Database:
    """One Database per process (shared by all portals); tests install their own."""
    try:
        database = dbmod.get()
        if database.settings.database_url == settings.database_url:
            return database
    except RuntimeError:
        pass
    database = dbmod.init(settings)
    try:
        database.load_default_key()
    except Exception:  # noqa: BLE001 - not migrated yet: healthz and the CLI say so
        log.warning("no data key loaded (run the migrations)")
    return database


def body_limit(max_bytes: int):
    """Let a route accept a bigger request body than a form's (an upload)."""

    def decorate(view):
        view.body_limit = max_bytes
        return view

    return decorate


def create_portal(
    name: str,
    import_name: str,
    *,
    login: str,  # "staff" or "citizen"
    title: str,
    home: str,
    accent: str,
    blueprints: Iterable[Blueprint] = (),
    overrides: dict | None = None,
    mount: str | None = None,
    limits: dict[str, str] | None = None,
) -> Flask:
    """``limits`` maps endpoints to per-address rate limits ("10 per minute") for
    actions that cost something outside (a BankID order, an e-mail)."""
    settings = get_settings(overrides)
    app = Flask(import_name, instance_path=str(settings.instance_dir))
    app.config.update(
        SETTINGS=settings,
        PORTAL=name,
        PORTAL_TITLE=title,
        PORTAL_ACCENT=accent,
        PORTAL_LOGIN=login,
        PORTAL_HOME=home,
        # Each portal signs its cookies (session, CSRF) with a key of its own: a session
        # of one portal is no session at all in another.
        SECRET_KEY=portal_key(settings.secret_key, name),
        SESSION_COOKIE_NAME=f"sk_{name}",
        # The portal's mount point: its cookie path, and the script root of test clients.
        APPLICATION_ROOT=mount if mount is not None else f"/{name}",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_DURATION=timedelta(0),
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=settings.session_idle_minutes),
        SESSION_REFRESH_EACH_REQUEST=True,
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=settings.secure_cookies,
        BABEL_DEFAULT_LOCALE="sv",
        BABEL_DEFAULT_TIMEZONE="Europe/Stockholm",
        BABEL_TRANSLATION_DIRECTORIES=str(WEB_DIR / "translations"),
        RATELIMIT_STORAGE_URI=settings.redis_url or "memory://",
        # Redis down: count in this process's memory (and log it) rather than fail.
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_STORAGE_OPTIONS={"socket_connect_timeout": 2, "socket_timeout": 2}
        if settings.redis_url
        else {},
        RATELIMIT_ENABLED=not settings.testing,
        MAX_CONTENT_LENGTH=FORM_BODY_LIMIT,
        API_MAX_CONTENT_LENGTH=API_BODY_LIMIT,
    )
    app.config.update({k: v for k, v in (overrides or {}).items() if k != "SETTINGS"})
    hops = settings.trusted_proxies
    if hops > 0:  # else X-Forwarded-* are the client's own words: the address is the peer's
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=hops)

    if settings.demo:
        clock.use_demo_offset_file(settings.instance_dir / "demo_clock.json")
    logcontext.configure()
    init_database(settings)
    CSRFProtect(app)
    Babel(app, locale_selector=_select_locale)
    domain_errors.set_translator(_gettext)  # service messages in the reader's language
    htmx.init_app(app)
    filters.init_app(app)
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=app.config["RATELIMIT_STORAGE_URI"],
        key_prefix=f"sk:{name}",
        headers_enabled=True,
    )
    app.extensions["skuldkoll.limiter"] = limiter  # decorated limits hold it weakly
    _init_login(app, login)
    app.register_blueprint(shared_bp)
    for bp in blueprints:
        if bp.name == "auth":
            # Sign-in attempts per address, on top of the per-account lockout.
            limiter.limit(SIGN_IN_RATE, methods=["POST"])(bp)
        app.register_blueprint(bp)
    for endpoint, rate in (limits or {}).items():
        # the wrapper checks the limit (functools.wraps keeps the access rule)
        view = app.view_functions[endpoint]
        app.view_functions[endpoint] = limiter.limit(rate, methods=["POST"])(view)
    _install_request_hooks(app)
    _install_error_pages(app)
    errors.init_app(app)
    app.context_processor(lambda: {"current_locale": lambda: str(get_locale() or "sv")})
    return app


def portal_key(secret_key: str, portal: str) -> str:
    return crypto.derived_key(secret_key, f"skuldkoll session cookie: {portal}").hex()


def _select_locale() -> str:
    lang = request.args.get("lang")
    if lang in LANGUAGES:
        session["lang"] = lang
    return session.get("lang") or request.accept_languages.best_match(LANGUAGES) or "sv"


def _init_login(app: Flask, login: str) -> None:
    manager = LoginManager(app)
    manager.anonymous_user = Anonymous
    # "basic": a changed IP or browser marks the session non-fresh (mobile IPs change)
    manager.session_protection = "basic"
    manager.login_view = "auth.login"
    manager.login_message = None

    @manager.user_loader
    def load(principal_id: str):
        kind, _, raw = principal_id.partition(":")
        if kind != login:
            return None
        try:
            pk = uuid.UUID(raw)
        except ValueError:
            return None
        if kind == "staff":
            user = _load_staff(pk)
            if user is None or not user.active:
                return None
            principal = StaffPrincipal(user)
        else:
            person = db_session().get(Person, pk)
            if person is None:
                return None
            principal = CitizenPrincipal(person)
        # Ended (logout, new password, deactivation): the generation moved on.
        if session.get(GENERATION) != principal.session_generation:
            return None
        return principal

    def _load_staff(pk: uuid.UUID) -> User | None:
        """The signed-in member of staff with their organisation (the layout names it),
        read in the organisation the session began in: the same tenant the request then
        runs in, so row-level security is told once. The signed cookie names it; a user
        not of that organisation is not found."""
        options = [joinedload(User.organisation)]
        try:
            org_id = uuid.UUID(session.get(ORG, ""))
        except ValueError:
            org_id = None
        if org_id is None:  # a session from before the organisation was kept in it
            with dbmod.system_scope():
                return db_session().get(User, pk, options=options)
        with dbmod.tenant(org_id):
            user = db_session().get(User, pk, options=options)
        return user if user is not None and user.organisation_id == org_id else None

    @manager.unauthorized_handler
    def unauthorized():
        if request.blueprint == "api" or request.accept_mimetypes.best == "application/json":
            return {"error": "unauthorized"}, 401
        # A full page load: the idle timeout may have just renewed the session.
        return htmx.redirect(url_for("auth.login", next=request.full_path.rstrip("?")), reload=True)


def request_in_system_scope() -> None:
    """The rest of this request (its commit included) works across tenants
    (``shared.core.db.system_scope``): sign-in before the organisation is known, the
    citizen portals. The teardown leaves the scope."""
    stack = g.get("scopes")
    if stack is None:
        g.scopes = stack = ExitStack()
    stack.enter_context(dbmod.system_scope())


def _install_request_hooks(app: Flask) -> None:
    settings = app.config["SETTINGS"]
    idle = timedelta(minutes=settings.session_idle_minutes).total_seconds()
    lifetime = timedelta(hours=settings.session_max_hours(app.config["PORTAL_LOGIN"]))

    def limit_body():
        """Before anything reads the body (CSRF does): the route's own limit, the API's,
        or a form's (MAX_CONTENT_LENGTH). Too big is a 413, read no further."""
        view = app.view_functions.get(request.endpoint or "")
        limit = getattr(view, "body_limit", None)
        if limit is None and problems.is_api_request():
            limit = app.config["API_MAX_CONTENT_LENGTH"]
        if limit is not None:
            request.max_content_length = limit

    app.before_request_funcs.setdefault(None, []).insert(0, limit_body)

    def bind_request_id():
        """One id per request (a trusted proxy's X-Request-ID, else a new one): in the
        log lines, the response header, the outbox messages the request writes."""
        trusted = app.config["SETTINGS"].trust_request_id
        rid = (trusted and logcontext.valid(request.headers.get("X-Request-ID"))) or None
        g.request_id = rid or logcontext.new_id()
        g.request_id_token = logcontext.request_id.set(g.request_id)

    app.before_request_funcs[None].insert(0, bind_request_id)

    @app.before_request
    def enforce_policy():
        g.loaded = {}  # what the access rule loads for the view (access.loaded)
        endpoint = request.endpoint
        if endpoint is None or is_static_endpoint(endpoint):
            return None
        if app.config["PORTAL_LOGIN"] == "citizen":
            # A citizen's principal is a person, not an organisation: their requests run
            # in the system scope, and the citizen portals' services and access rules
            # limit every query to the signed-in person's own case, fullmakt and debts
            # (docs/security.md, "Row-level security").
            request_in_system_scope()
        rule = rule_for(app.view_functions.get(endpoint))
        if rule is None:
            log.error("route %s declares no access rule: refused", endpoint)
            raise Forbidden()
        if rule.stateless:  # no session, no cookie: the rule checks the request itself
            # Teardown resets the tenant to this point, whatever the rule sets.
            g.tenant_token = dbmod.current_org.set(None)
            if not rule.allows(None, request.view_args or {}):
                raise Forbidden()
            return None
        # Idle and absolute lifetime on wall time (the demo clock must not sign people out).
        now = clock.wall_now().timestamp()
        if current_user.is_authenticated:
            expired = None
            if now - session.get(STARTED, 0) > lifetime.total_seconds():
                expired = _("Din inloggning har gått ut. Logga in igen.")
            elif now - session.get(SEEN, 0) > idle:
                expired = _("Du loggades ut efter en tid utan aktivitet. Logga in igen.")
            if expired:
                logout_user()
                session.clear()
                flash(expired, "info")
                if rule.login is not None:
                    return app.login_manager.unauthorized()
        session.permanent = True
        if current_user.is_authenticated:
            session[SEEN] = now
        g.tenant_token = dbmod.current_org.set(current_user.organisation_id)
        if rule.login is not None and not current_user.is_authenticated:
            return app.login_manager.unauthorized()
        if not rule.allows(current_user, request.view_args or {}):
            raise Forbidden()
        return None

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if app.config["SESSION_COOKIE_SECURE"]:  # HTTPS only (production), not the http demo
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if current_user.is_authenticated:
            response.headers["Cache-Control"] = "no-store"
        if g.get("request_id"):
            response.headers["X-Request-ID"] = g.request_id
        return response

    @app.after_request
    def commit(response):
        session_ = g.get("db")
        if session_ is not None:
            if response.status_code < 400:
                try:
                    session_.commit()
                except sa_exc.SQLAlchemyError as exc:  # refused: nothing was saved
                    return errors.database_error(exc)
                jobs.after_commit(session_)
            else:
                session_.rollback()
        return response

    @app.teardown_request
    def close(exc):
        session_ = g.pop("db", None)
        if session_ is not None:
            if exc is not None:
                session_.rollback()
            session_.close()
        token = g.pop("tenant_token", None)
        if token is not None:
            dbmod.current_org.reset(token)
        scopes = g.pop("scopes", None)
        if scopes is not None:
            scopes.close()
        rid_token = g.pop("request_id_token", None)
        if rid_token is not None:
            logcontext.request_id.reset(rid_token)


def _install_error_pages(app: Flask) -> None:
    from flask import render_template

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if problems.is_api_request():  # RFC 9457 problem details for API clients
            # Allow (405), WWW-Authenticate, ... come along
            headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
            code = (exc.name or "error").lower().replace(" ", "_")
            return problems.problem(
                exc.code or 500, exc.description or exc.name, code=code, headers=headers
            )
        if request.accept_mimetypes.best == "application/json":
            return {"error": exc.name, "status": exc.code}, exc.code
        page = render_template("shared/error.html", error=exc)
        headers = {}
        if getattr(request, "htmx", None):
            # Whatever the element aimed at, the reader sees the error page (too many
            # sign-in attempts, an expired form, a refused write), not a silent no-op.
            headers = {"HX-Retarget": "body", "HX-Reswap": "innerHTML show:window:top"}
        return page, exc.code, headers
