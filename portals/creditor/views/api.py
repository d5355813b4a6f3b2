"""The creditor API (v1), mounted at ``/creditor/api/v1``: a creditor's own system reads
an inquiry and answers it with a key from the portal (``Authorization: Bearer sk_live_…``).

JSON in and out; errors are ``application/problem+json`` (RFC 9457) with ``errors:
[{"field", "message"}]`` for invalid input. Without a valid key: 401. An inquiry not
addressed to the key's organisation: 404, exactly as one that does not exist. The API
does not use the portal's session login or its CSRF token (the blueprint is exempt):
the key authenticates each request, and the request runs in the key's tenant.

Issue 5 grows this into the full API (OpenAPI document, Idempotency-Key, listing,
subscriptions); the paths, bodies and error shapes here are meant to stay.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, Response, abort, g, jsonify, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from portals.creditor import queries
from shared import db as dbmod
from shared.models import Answer, Debt, Inquiry, InquiryStatus
from shared.security import audit
from shared.services import api_keys, inquiries
from shared.services.errors import FieldError, NotAllowed
from shared.services.inquiries import DebtInput, parse_debt
from shared.web.access import Rule, access
from shared.web.factory import db_session

bp = Blueprint("api", __name__, url_prefix="/api/v1")

PROBLEM_JSON = "application/problem+json"
MAX_DEBTS = 100
TEXT_FIELDS = ("reference", "kind", "status", "original_creditor", "kfm_case", "note")
INT_FIELDS = ("capital_ore", "interest_ore", "fees_ore", "interest_rate_bp")


# -- problems (RFC 9457) ----------------------------------------------------------------


def problem(status: int, detail: str, *, code: str, errors: list[dict] | None = None,
            headers: dict[str, str] | None = None) -> Response:
    """A problem response. ``type`` is about:blank, so ``title`` is the status phrase;
    ``code`` (an extension member) says which problem it is, for machines."""
    body: dict[str, Any] = {"type": "about:blank", "title": HTTP_STATUS_CODES.get(status, ""),
                            "status": status, "detail": detail, "code": code,
                            "instance": request.path}
    if errors is not None:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


@bp.errorhandler(HTTPException)
def http_problem(exc: HTTPException):
    """Errors raised inside the API's views (not routing errors of unknown URLs)."""
    code = (exc.name or "error").lower().replace(" ", "_")
    return problem(exc.code or 500, exc.description or exc.name, code=code)


def _unauthorized(detail: str, *, presented: bool) -> Response:
    # RFC 6750 §3: no error code when no credentials were sent.
    challenge = 'Bearer realm="skuldkoll"' + (', error="invalid_token"' if presented else "")
    return problem(401, detail, code="invalid_api_key",
                   headers={"WWW-Authenticate": challenge})


# -- the access rule ----------------------------------------------------------------------


def api_key() -> Rule:
    """A request with a live API key of a creditor organisation (``Authorization: Bearer``).

    Not a session login (``login`` is None, so the factory does not ask anyone to sign
    in): the predicate checks the key itself and answers 401 as problem+json when it
    fails. On success it sets ``g.api_org_id``/``g.api_key_id`` and puts the request in
    the key's tenant (``shared.db.current_org``; the factory's teardown resets it).
    """

    def check(_principal, _view_args) -> bool:
        scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        presented = scheme.lower() == "bearer" and bool(token)
        found = None
        if presented:
            # Its own short transaction, unscoped (whose key it is is not known yet);
            # it records last_used_at even if the request then fails.
            with dbmod.session_scope() as session:
                key = api_keys.verify_key(session, token)
                if key is not None:
                    found = (key.id, key.organisation_id)
        if found is None:
            abort(_unauthorized(_("Ange en giltig API-nyckel: Authorization: Bearer <nyckel>.")
                                if not presented else
                                _("API-nyckeln är ogiltig eller återkallad."),
                                presented=presented))
        g.api_key_id, g.api_org_id = found
        stale = g.pop("db", None)  # opened before the tenant was known (a session cookie)
        if stale is not None:
            stale.close()
        dbmod.current_org.set(g.api_org_id)
        return True

    return Rule("api_key", None, check, stateless=True)


def _actor() -> audit.Actor:
    return audit.Actor("api", str(g.api_key_id), g.api_org_id)


def _load(inquiry_id: uuid.UUID) -> Inquiry:
    inquiry = queries.inquiry_for(db_session(), g.api_org_id, inquiry_id)
    if inquiry is None:
        abort(problem(404, _("Det finns ingen förfrågan med det id:t till er organisation."),
                      code="not_found"))
    return inquiry


# -- representations ---------------------------------------------------------------------


def _debt_json(debt: Debt) -> dict[str, Any]:
    return {"id": str(debt.id), "reference": debt.reference, "kind": debt.kind,
            "status": debt.status, "capital_ore": debt.capital_ore,
            "interest_ore": debt.interest_ore, "fees_ore": debt.fees_ore,
            "total_ore": debt.total_ore, "interest_rate_bp": debt.interest_rate_bp,
            "original_creditor": debt.original_creditor, "kfm_case": debt.kfm_case,
            "note": debt.note}


def _answer_json(inquiry: Inquiry, debts: list[Debt]) -> dict[str, Any]:
    return {"inquiry_id": str(inquiry.id), "status": inquiry.status.value,
            "answer": inquiry.answer.value if inquiry.answer else None,
            "answered_at": inquiry.answered_at.isoformat() if inquiry.answered_at else None,
            "answer_source": inquiry.answer_source,
            "debts": [_debt_json(d) for d in debts]}


# -- input ---------------------------------------------------------------------------------


def _parse_answer(body: dict[str, Any], creditor_name: str
                  ) -> tuple[Answer | None, list[DebtInput], list[dict[str, str]]]:
    """The answer and its debts, and every field error found (one per debt at most)."""
    errors: list[dict[str, str]] = []

    def error(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    answer = None
    try:
        answer = Answer(body.get("answer"))
    except ValueError:
        error("answer", _("Ange \"yes\" (kunden har skulder hos er) eller \"no\" "
                          "(ingen kundrelation)."))
    items = body.get("debts", [])
    if items is None:
        items = []
    if not isinstance(items, list):
        error("debts", _("En lista med skulder (tom vid \"no\")."))
        items = []
    elif len(items) > MAX_DEBTS:
        error("debts", _("Högst %(n)s skulder i ett svar.", n=MAX_DEBTS))
        items = []
    debts = []
    for i, item in enumerate(items):
        prefix = f"debts[{i}]."
        if not isinstance(item, dict):
            error(f"debts[{i}]", _("Varje skuld är ett JSON-objekt."))
            continue
        bad = next((k for k in TEXT_FIELDS if item.get(k) is not None
                    and not isinstance(item[k], str)), None)
        bad = bad or next((k for k in INT_FIELDS if item.get(k) is not None and (
            isinstance(item[k], bool) or not isinstance(item[k], int))), None)
        if bad is not None:
            error(prefix + bad, _("Fel typ: en sträng eller null.") if bad in TEXT_FIELDS
                  else _("Fel typ: ett heltal eller null."))
            continue
        if item.get("capital_ore") is None:
            error(prefix + "capital_ore", _("Kapitalet i öre (ett heltal) måste anges."))
            continue
        data = {k: item[k] for k in (*TEXT_FIELDS, *INT_FIELDS) if item.get(k) is not None}
        try:
            debts.append(parse_debt(data, prefix=prefix, creditor_name=creditor_name))
        except FieldError as exc:
            error(exc.field, exc.message)
    return answer, debts, errors


# -- routes ------------------------------------------------------------------------------


@bp.get("/inquiries/<uuid:inquiry_id>")
@access(api_key())
def inquiry(inquiry_id: uuid.UUID):
    """The inquiry as its webhook delivered it, with its status and the answer given."""
    session = db_session()
    found = _load(inquiry_id)
    view = queries.inquiry_view(session, found)  # loads the counsellor for the payload
    body = inquiries.inquiry_payload(found)
    body.pop("type", None)  # the webhook's event type; this is the resource itself
    body.update(_answer_json(found, view.debts))
    audit.record(session, _actor(), "inquiry.view", subject_type="inquiry", subject_id=found.id,
                 details={"via": "api"})
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/inquiries/<uuid:inquiry_id>/answer")
@access(api_key())
def answer(inquiry_id: uuid.UUID):
    """Answer ``{"answer": "no"}`` or ``{"answer": "yes", "debts": [...]}`` (amounts in
    öre). 200 with the stored answer; 422 with field errors; 409 when it is already
    answered or the fullmakt no longer holds."""
    session = db_session()
    found = _load(inquiry_id)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return problem(400, _("Skicka ett JSON-objekt (Content-Type: application/json)."),
                       code="invalid_json")
    answer_, debts, errors = _parse_answer(body, found.creditor.name)
    if errors:
        return problem(422, _("Svaret innehåller fel; se errors."), code="invalid_answer",
                       errors=errors)
    try:
        inquiries.answer(session, found, answer=answer_, debts=debts, source="api",
                         answered_by=f"api:{g.api_key_id}")
    except FieldError as exc:
        return problem(422, _("Svaret innehåller fel; se errors."), code="invalid_answer",
                       errors=[{"field": exc.field, "message": exc.message}])
    except NotAllowed as exc:
        code = "already_answered" if found.status == InquiryStatus.ANSWERED \
            else "fullmakt_not_valid"
        return problem(409, str(exc), code=code)
    stored = queries.inquiry_view(session, found).debts
    response = jsonify(_answer_json(found, stored))
    response.headers["Cache-Control"] = "no-store"
    return response
