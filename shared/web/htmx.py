"""htmx helpers: one URL, two renderings; redirects and polling for htmx requests.

htmx-flask gives ``request.htmx``; only this module imports it.
"""

from __future__ import annotations

from flask import Flask, Response, make_response, render_template, request
from htmx_flask import Htmx

STOP_POLLING = 286  # htmx stops a polling element on this status


def init_app(app: Flask) -> None:
    Htmx(app)

    @app.after_request
    def _vary(response: Response) -> Response:
        response.vary.add("HX-Request")
        return response


def wants_partial() -> bool:
    """An htmx request that is neither boosted nor a history restore gets the partial."""
    hx = getattr(request, "htmx", None)
    return bool(hx) and not hx.boosted and not hx.history_restore_request


def render(page: str, partial: str, status: int = 200, **context) -> Response:
    """Render ``partial`` for htmx requests, else the full ``page`` (which includes it)."""
    template = partial if wants_partial() else page
    return make_response(render_template(template, **context), status)


def redirect(location: str) -> Response:
    """After an htmx request, navigate the whole page; otherwise a normal 303."""
    if getattr(request, "htmx", None):
        response = make_response("", 204)
        response.headers["HX-Redirect"] = location
        return response
    response = make_response("", 303)
    response.headers["Location"] = location
    return response


def stop_polling(html: str = "") -> Response:
    return make_response(html, STOP_POLLING)
