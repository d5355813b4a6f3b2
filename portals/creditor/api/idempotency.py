"""``Idempotency-Key`` on the API's POST requests (``shared.creditor_link.idempotency`` keeps
the records).

The key is claimed before the request is validated and handled; a 2xx response is
stored in the request's transaction (so it commits with the work, or not at all), and
anything else (an error response, a domain error on its way to the portal's handler)
releases the claim, so the client can retry with the same key.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from flask import Response, g, request
from flask_babel import gettext as _

from portals.creditor.api.problems import invalid
from shared.core import db as dbmod
from shared.creditor_link import idempotency as service
from shared.security import crypto
from shared.web.factory import db_session
from shared.web.problems import PROBLEM_JSON, problem

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"


def remember_data_key(key_id: uuid.UUID | None) -> None:
    """The stored response holds this case's data: encrypt it under the case's key (so
    purging the case shreds it too)."""
    g.idempotency_data_key = key_id


def _replay(outcome: service.Replay) -> Response:
    response = Response(
        outcome.body,
        status=outcome.status_code,
        mimetype="application/json" if outcome.body else None,
    )
    response.headers[REPLAYED] = "true"
    response.headers["Cache-Control"] = "no-store"
    return response


def _release(record_id: uuid.UUID) -> None:
    # The request failed: its own transaction is rolled back anyway (by the factory);
    # end it first, so the release does not wait for it (SQLite has one writer).
    db_session().rollback()
    with dbmod.session_scope(g.api_org_id) as session:
        service.release(session, record_id)


def handle(call: Callable[[], Response]) -> Response:
    """Run ``call`` (the validated view) under the request's Idempotency-Key, if any."""
    key = request.headers.get(HEADER)
    if key is None:
        return call()
    if not key.strip() or len(key) > service.MAX_KEY_LENGTH:
        return invalid(
            [
                {
                    "field": HEADER,
                    "message": _("Högst %(n)s tecken, och inte tom.", n=service.MAX_KEY_LENGTH),
                }
            ],
            code="invalid_idempotency_key",
        )
    endpoint = f"{request.method} {request.script_root}{request.path}"
    fingerprint = service.request_hash(
        request.method, request.script_root + request.path, request.get_data(cache=True)
    )
    with dbmod.session_scope(g.api_org_id) as session:
        outcome = service.claim(
            session, g.api_org_id, key, endpoint=endpoint, fingerprint=fingerprint
        )
    if isinstance(outcome, service.Replay):
        return _replay(outcome)
    if isinstance(outcome, service.Mismatch):
        return invalid(
            [
                {
                    "field": HEADER,
                    "message": _(
                        "Nyckeln har redan använts för en annan begäran (%(endpoint)s "
                        "eller en annan kropp). Använd en ny nyckel för en ny begäran.",
                        endpoint=outcome.endpoint,
                    ),
                }
            ],
            code="idempotency_key_reused",
        )
    if isinstance(outcome, service.InProgress):
        return problem(
            409,
            _("En begäran med samma Idempotency-Key pågår fortfarande. Försök igen om en stund."),
            code="idempotency_key_in_use",
        )
    record_id = outcome.record_id
    try:
        response = call()
    except BaseException:  # a DomainError (the portal's handler answers it as a problem)
        # or an HTTPException (abort): nothing was done, nothing is stored
        _release(record_id)
        raise
    if not 200 <= response.status_code < 300 or response.mimetype == PROBLEM_JSON:
        _release(record_id)
        return response
    session = db_session()
    with crypto.data_key_scope(g.get("idempotency_data_key")):
        service.complete(session, record_id, response.status_code, response.get_data(as_text=True))
        session.flush()  # values are encrypted when they are written
    return response
