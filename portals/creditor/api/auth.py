"""The API's access rule: a live API key of a creditor organisation
(``Authorization: Bearer sk_live_…``); the key's organisation becomes the tenant."""

from __future__ import annotations

import hashlib

from flask import Response, abort, g, request
from flask_babel import gettext as _

from shared.core import db as dbmod
from shared.identity import api_keys
from shared.security import audit
from shared.web.access import Rule
from shared.web.problems import problem


def _unauthorized(detail: str, *, presented: bool) -> Response:
    # RFC 6750 §3: no error code when no credentials were sent.
    challenge = 'Bearer realm="skuldkoll"' + (', error="invalid_token"' if presented else "")
    return problem(401, detail, code="invalid_api_key", headers={"WWW-Authenticate": challenge})


def api_rate_key() -> str:
    """Whom the API's rate limit counts: the presented key (by a digest, never the key
    itself in the limiter's storage), else the client's address."""
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token:
        return "key:" + hashlib.sha256(token.encode()).hexdigest()[:32]
    return "addr:" + (request.remote_addr or "")


def api_key() -> Rule:
    """A request with a live API key of a creditor organisation.

    Not a session login (``login`` is None, so the factory does not ask anyone to sign
    in): the predicate checks the key itself and answers 401 as problem+json when it
    fails. On success it sets ``g.api_org_id``/``g.api_key_id`` and puts the request in
    the key's tenant (``shared.core.db.current_org``; the factory's teardown resets it).
    """

    def check(_principal, _view_args) -> bool:
        scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        presented = scheme.lower() == "bearer" and bool(token)
        found = None
        # A session opened before the tenant was known (a portal cookie) is closed
        # first: on SQLite a second writer in the same thread would wait for it.
        stale = g.pop("db", None)
        if stale is not None:
            stale.close()
        if presented:
            # Its own short transaction, in the system scope (whose key it is is not
            # known yet); it records last_used_at even if the request then fails.
            with dbmod.system_scope(), dbmod.session_scope() as session:
                key = api_keys.verify_key(session, token)
                if key is not None:
                    found = (key.id, key.organisation_id)
        if found is None:
            abort(
                _unauthorized(
                    _("Ange en giltig API-nyckel: Authorization: Bearer <nyckel>.")
                    if not presented
                    else _("API-nyckeln är ogiltig eller återkallad."),
                    presented=presented,
                )
            )
        g.api_key_id, g.api_org_id = found
        dbmod.current_org.set(g.api_org_id)
        return True

    return Rule("api_key", None, check, stateless=True)


def actor() -> audit.Actor:
    """Who does it: the organisation's system, by its API key."""
    return audit.Actor.api(g.api_key_id, g.api_org_id)
