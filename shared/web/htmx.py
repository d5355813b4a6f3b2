"""htmx helpers: one URL, two renderings; redirects and polling for htmx requests.

htmx-flask gives ``request.htmx``; only this module imports it.
"""

from __future__ import annotations

import json

from flask import Flask, Response, make_response, render_template, request
from htmx_flask import Htmx

STOP_POLLING = 286  # htmx stops a polling element on this status


def init_app(app: Flask) -> None:
    Htmx(app)

    @app.after_request
    def _vary(response: Response) -> Response:
        # The page or its partial depends on both (an HX-Location GET is "boosted").
        response.vary.add("HX-Request")
        response.vary.add("HX-Boosted")
        return response


def wants_partial() -> bool:
    """An htmx request that is neither boosted nor a history restore gets the partial."""
    hx = getattr(request, "htmx", None)
    return bool(hx) and not hx.boosted and not hx.history_restore_request


def render(page: str, partial: str, status: int = 200, **context) -> Response:
    """Render ``partial`` for htmx requests, else the full ``page`` (which includes it)."""
    template = partial if wants_partial() else page
    return make_response(render_template(template, **context), status)


def location(path: str) -> str:
    """The ``HX-Location`` value for going to ``path`` as a boosted link would: fetch it
    with ajax, swap the page's body and push the URL. The follow-up GET says it is
    boosted, so it gets the full page (``wants_partial``), flash messages included."""
    return json.dumps(
        {
            "path": path,
            "target": "body",
            "swap": "innerHTML show:window:top",
            "headers": {"HX-Boosted": "true"},
        },
        separators=(",", ":"),
    )


def redirect(location_: str, *, reload: bool = False) -> Response:
    """After an htmx request, go to ``location_`` without a page load (``HX-Location``);
    otherwise a normal 303. ``reload``: a full page load (``HX-Redirect``), for when the
    session was renewed (signing in or out): the CSRF token on ``<body>`` changes too."""
    if getattr(request, "htmx", None):
        response = make_response("", 204)
        if reload:
            response.headers["HX-Redirect"] = location_
        else:
            response.headers["HX-Location"] = location(location_)
        return response
    response = make_response("", 303)
    response.headers["Location"] = location_
    return response


def stop_polling(html: str = "") -> Response:
    return make_response(html, STOP_POLLING)


def polled(response: Response, *, done: bool) -> Response:
    """A polling partial whose work is ``done`` answers 286, so htmx stops polling (the
    full page keeps its status)."""
    if done and wants_partial():
        response.status_code = STOP_POLLING
    return response


def leave_polling(location_: str) -> Response:
    """Leave a polling page for ``location_``: the polling partial gets ``HX-Redirect``
    with 286 (a full page load: signing in renews the session and its CSRF token), a
    browser without JavaScript a 303."""
    if wants_partial():
        response = stop_polling()
        response.headers["HX-Redirect"] = location_
        return response
    response = make_response("", 303)
    response.headers["Location"] = location_
    return response
