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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, flash, g, make_response, render_template, request
from werkzeug.exceptions import Forbidden as HTTPForbidden
from werkzeug.exceptions import NotFound as HTTPNotFound

from shared.core.errors import DomainError
from shared.web import htmx
from shared.web.problems import is_api_request, problem


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


def _forget() -> None:
    """Nothing of a previous request's form (an app context can outlive a request)."""
    for name in ("error_form", "error_render", "error_location", "error"):
        g.pop(name, None)


def init_app(app: Flask) -> None:
    app.before_request(_forget)
    app.register_error_handler(DomainError, handle)
