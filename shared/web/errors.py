"""The one handler for domain errors (``shared.core.errors.DomainError``), registered by
``create_portal``. Views do not catch domain errors; a view that shows a form says how
to show it again, before it calls the service:

    form = RegisterClientForm()
    if form.validate_on_submit():
        errors.form_page(form, lambda: render_register(form))
        registration = cases.register_client(...)

Then a ``FieldError`` comes back as that page or partial with the message at its field
and status 422; a ``NotAllowed`` (409) as a flash message on the page the reader came
from (or ``back_to``); a 404/403 as the error page; and on the API, every one of them as
problem+json. Whatever the service had written in the request's transaction is rolled
back first: nothing is half-saved.

When the database refuses a write (``database_error``: a constraint, a lost connection,
a serialization failure), in the view or at the request's commit, the transaction is
rolled back and the reader gets a 409 or 503 with a message (a flash message after an
htmx request, problem+json on the API); the log line names the request id, never the
values that were refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, flash, g, make_response, render_template, request
from flask_babel import gettext as _
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import Conflict, ServiceUnavailable
from werkzeug.exceptions import Forbidden as HTTPForbidden
from werkzeug.exceptions import NotFound as HTTPNotFound

from shared.core.errors import DomainError
from shared.web import htmx
from shared.web.problems import is_api_request, problem

log = logging.getLogger(__name__)


def form_page(form: Any, render: Callable[[], Response | str]) -> None:
    """If a service refuses a field of ``form`` in this request, show ``render()`` (the
    form's page or partial) with the message at the field, as a 422."""
    g.error_form = form
    g.error_render = render


def back_to(location: str) -> None:
    """Where a refused action (409) sends the reader, with the message as a flash."""
    g.error_location = location


def attach(form: Any, exc: DomainError) -> None:
    """Each message at its field (a ``FieldErrors`` has several), or among the form's own
    errors when no field has the name (a row of a table, a field of another form)."""
    for error in exc.errors:
        field = getattr(form, error.field, None) if error.field else None
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, error.message]
        elif form is not None:
            form.form_errors.append(error.message)


def _rollback() -> None:
    session = g.get("db")
    if session is not None:
        session.rollback()


def _same_site(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if parts.netloc and parts.netloc != request.host:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def handle(exc: DomainError) -> Response:
    _rollback()
    if is_api_request():
        errors = [{"field": e.field, "message": e.message} for e in exc.errors if e.field]
        return problem(exc.status, exc.message, code=exc.code, errors=errors or None)
    render = g.get("error_render")
    if exc.status == 422 and render is not None:
        g.error = exc  # the render may read what was refused (``exc.code``)
        attach(g.get("error_form"), exc)
        response = make_response(render())
        response.status_code = 422
        return response
    if exc.status in (403, 404):
        error = (HTTPNotFound if exc.status == 404 else HTTPForbidden)()
        return make_response(render_template("shared/error.html", error=error), exc.status)
    flash(exc.message, "error")
    target = g.get("error_location") or _same_site(request.referrer) or request.full_path
    return htmx.redirect(target.rstrip("?"))


UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)


def _refusal(exc: Exception) -> str:
    """What the log may say about a refused statement: its kind, SQLSTATE and
    constraint, not its message (which quotes the values)."""
    orig = getattr(exc, "orig", None)
    diag = getattr(orig, "diag", None)
    return (
        f"{type(exc).__name__}/{type(orig).__name__} sqlstate={getattr(orig, 'sqlstate', None)}"
        f" constraint={getattr(diag, 'constraint_name', None)}"
    )


def database_error(exc: sa_exc.SQLAlchemyError) -> Response:
    """The database refused the request's statement or its commit (see the module)."""
    _rollback()
    if isinstance(exc, sa_exc.IntegrityError):
        status, code, error = 409, "conflict", Conflict()
        message = _(
            "Det gick inte att spara: uppgifterna krockar med något som redan finns eller "
            "som ändrades under tiden. Ingenting sparades. Ladda om sidan och försök igen."
        )
    elif isinstance(exc, UNAVAILABLE) or getattr(exc, "connection_invalidated", False):
        status, code, error = 503, "database_unavailable", ServiceUnavailable()
        message = _("Databasen svarar inte just nu. Ingenting sparades. Försök igen om en stund.")
    else:
        raise exc
    log.error(
        "database refused %s %s: %s (%d)", request.method, request.path, _refusal(exc), status
    )
    headers = {"Retry-After": "5"} if status == 503 else {}
    if is_api_request():
        return problem(status, message, code=code, headers=headers)
    if getattr(request, "htmx", None) and request.method != "GET":
        flash(message, "error")
        return htmx.redirect((_same_site(request.referrer) or request.full_path).rstrip("?"))
    error.description = message
    response = make_response(render_template("shared/error.html", error=error), status)
    response.headers.update(headers)
    return response


def _forget() -> None:
    """Nothing of a previous request's form (an app context can outlive a request)."""
    for name in ("error_form", "error_render", "error_location", "error"):
        g.pop(name, None)


def init_app(app: Flask) -> None:
    app.before_request(_forget)
    app.register_error_handler(DomainError, handle)
    app.register_error_handler(sa_exc.SQLAlchemyError, database_error)
