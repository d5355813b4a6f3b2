"""The creditor API (v1), mounted at ``/creditor/api/v1``: a creditor's own system lists,
reads and answers its inquiries, reads the fullmakter it answered yes under, manages
its subscriptions to their events and follows the webhooks sent to it, with a key from
the portal (``Authorization: Bearer sk_live_…``).

JSON in and out, described by the OpenAPI 3.1 document at ``openapi.json`` (generated
by spectree, ``spec.py``) and the reference page beside it. Errors are problem+json
(``problems.py``). Without a valid key: 401. Anything of another organisation: 404,
exactly as what does not exist. The blueprint is exempt from CSRF and uses no session
login: the key authenticates each request, which runs in the key's tenant. Every view
of personal data is audit-logged with ``via: api``.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, g, jsonify, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portals.creditor.api import auth, idempotency, pagination, reference, schemas
from portals.creditor.api.spec import ERRORS, document, operation
from shared.core.errors import NotFound
from shared.counselling import answers
from shared.counselling.models import Answer, Case, Debt, Fullmakt, Inquiry, InquiryStatus
from shared.creditor_link import customer_inquiries, subscriptions, webhooks
from shared.creditor_link import inbox as queries
from shared.creditor_link.models import DeliveryStatus, FullmaktSubscription, WebhookDelivery
from shared.identity.models import Organisation
from shared.integrations import webhook_http
from shared.security import audit
from shared.web import htmx
from shared.web.access import PUBLIC, Rule, access
from shared.web.factory import db_session

bp = Blueprint("api", __name__, url_prefix="/api/v1", template_folder="../templates")

# The document and the reference page are public; no session either for the document.
DOCUMENT = Rule("public_document", None, stateless=True)
INQUIRY_ID = {"inquiry_id": "Förfrågans id (inquiry_id)."}


# -- the document and its reference page ---------------------------------------------------


@bp.get("/openapi.json")
@access(DOCUMENT)
def openapi():
    return jsonify(document())


EVENTS = [
    (
        "inquiry.created",
        _l(
            "En ny kundfråga till er: inquiry_id, personal_number, "
            "principal_name, agent, fullmakt och answer_url."
        ),
    ),
    (
        "fullmakt.sent",
        _l(
            "Fullmakten skickas till ert system: efter ett ja med send_fullmakt, "
            "när ni hämtar den i portalen eller med resend_fullmakt."
        ),
    ),
    ("fullmakt.signed", _l("Fullmaktsgivaren har signerat fullmakten med BankID.")),
    ("fullmakt.revoked", _l("Fullmaktsgivaren har återkallat fullmakten.")),
    ("fullmakt.validity_changed", _l("Fullmaktens giltighetstid har ändrats.")),
    ("fullmakt.expiring", _l("Fullmakten går ut om 30 dagar.")),
    ("fullmakt.expired", _l("Fullmakten har gått ut.")),
    ("fullmakt.deleted", _l("Fullmakten har raderats; reason säger varför.")),
]


@bp.get("/reference")
@access(PUBLIC)
def reference_page():
    """The API reference, rendered from the OpenAPI document."""
    hours = int(webhooks.GIVE_UP_AFTER.total_seconds() // 3600)
    retry = {
        "timeout": int(webhook_http.TIMEOUT),
        "hours": hours,
        "slots": webhooks.MAX_CONCURRENT,
        "schedule": ", ".join(_duration(s) for s in webhooks.BACKOFF),
    }
    return htmx.render(
        "creditor/api/reference.html",
        "creditor/api/_partials/reference.html",
        ref=reference.build(document()),
        document_url=url_for("api.openapi"),
        errors=ERRORS,
        events=EVENTS,
        retry=retry,
    )


def _duration(seconds: int) -> str:
    if seconds < 60:
        return _("%(n)s s", n=seconds)
    if seconds < 3600:
        return _("%(n)s min", n=seconds // 60)
    return _("%(n)s h", n=seconds // 3600)


# -- representations ---------------------------------------------------------------------


def _debt(debt: Debt) -> schemas.Debt:
    return schemas.Debt(
        id=debt.id,
        reference=debt.reference,
        kind=debt.kind,
        status=debt.status,
        capital_ore=debt.capital_ore,
        interest_ore=debt.interest_ore,
        fees_ore=debt.fees_ore,
        total_ore=debt.total_ore,
        interest_rate_bp=debt.interest_rate_bp,
        original_creditor=debt.original_creditor,
        kfm_case=debt.kfm_case,
        note=debt.note,
    )


def _said_no(inquiry: Inquiry) -> bool:
    return inquiry.status == InquiryStatus.ANSWERED and inquiry.answer == Answer.NO


def _inquiry(
    inquiry: Inquiry, case: Case, fullmakt: Fullmakt, municipality: Organisation, debts: list[Debt]
) -> schemas.Inquiry:
    """After a no, nothing more about the person than the personnummer (as the portal's
    customer inquiries show it)."""
    counsellor = case.counsellor
    agent = (
        None
        if _said_no(inquiry)
        else schemas.Agent(
            organisation=municipality.name,
            orgnr=municipality.orgnr,
            counsellor=counsellor.name if counsellor is not None else None,
        )
    )
    return schemas.Inquiry(
        inquiry_id=inquiry.id,
        status=inquiry.status.value,
        sent_at=inquiry.delivered_at or inquiry.created_at,
        delivered_at=inquiry.delivered_at,
        personal_number=case.person.personnummer,
        principal_name=None if _said_no(inquiry) else case.person.name,
        agent=agent,
        fullmakt=schemas.FullmaktRef(
            id=fullmakt.id,
            code=fullmakt.code,
            signed_at=fullmakt.signed_at,
            valid_from=fullmakt.valid_from,
            valid_until=fullmakt.valid_until,
        ),
        answer_url=url_for("api.answer_inquiry", inquiry_id=inquiry.id, _external=True),
        answer=inquiry.answer.value if inquiry.answer else None,
        answered_at=inquiry.answered_at,
        changed_at=inquiry.changed_at,
        answer_source=inquiry.answer_source,
        debts=[_debt(d) for d in debts],
    )


def _answer(inquiry: Inquiry, debts: list[Debt]) -> schemas.AnswerOut:
    return schemas.AnswerOut(
        inquiry_id=inquiry.id,
        status=inquiry.status.value,
        answer=inquiry.answer.value if inquiry.answer else None,
        answered_at=inquiry.answered_at,
        changed_at=inquiry.changed_at,
        answer_source=inquiry.answer_source,
        debts=[_debt(d) for d in debts],
    )


def _subscription(sub: FullmaktSubscription, code: str | None) -> schemas.Subscription:
    return schemas.Subscription(
        id=sub.id,
        fullmakt_id=sub.fullmakt_id,
        fullmakt_code=code,
        active=sub.active,
        source=sub.source,
        created_at=sub.created_at,
        ended_at=sub.ended_at,
    )


def _delivery_fields(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "webhook_id": delivery.message_id,
        "event_type": delivery.event_type,
        "status": delivery.status.value,
        "endpoint_url": delivery.endpoint.url if delivery.endpoint else None,
        "attempts": delivery.attempts,
        "created_at": delivery.created_at,
        "next_attempt_at": delivery.next_attempt_at,
        "last_attempt_at": delivery.last_attempt_at,
        "last_status_code": delivery.last_status_code,
        "succeeded_at": delivery.succeeded_at,
        "failed_at": delivery.failed_at,
    }


# -- inquiries -----------------------------------------------------------------------------


def _load(inquiry_id: uuid.UUID) -> Inquiry:
    found = queries.inquiry_for(db_session(), g.api_org_id, inquiry_id)
    if found is None:
        raise NotFound("Det finns ingen förfrågan med det id:t till er organisation.")
    return found


def _inquiry_page(filters: schemas.InquiryQuery) -> schemas.InquiryPage:
    session = db_session()
    stmt = customer_inquiries.creditor_inquiries(
        queries.directory_ids(session, g.api_org_id),
        answered={"answered": True, "unanswered": False}.get(filters.status),
        personnummer=filters.personal_number,
        sent_from=filters.sent_from,
        sent_to=filters.sent_to,
    )
    rows = session.scalars(
        pagination.keyset_page(
            stmt, Inquiry.created_at, Inquiry.id, limit=filters.limit, cursor=filters.cursor
        )
    ).all()
    page, next_cursor = pagination.split(rows, filters.limit)
    details = queries.inquiry_details(session, page)
    data = [
        _inquiry(
            i,
            details.cases[i.case_id],
            details.fullmakter[i.fullmakt_id],
            details.municipalities[i.organisation_id],
            details.debts[i.id],
        )
        for i in page
    ]
    if page:
        audit.record(
            session,
            auth.actor(),
            "inquiries.listed",
            subject_type="organisation",
            subject_id=g.api_org_id,
            details={"via": "api", "inquiries": [str(i.id) for i in page]},
        )
    return schemas.InquiryPage(data=data, next_cursor=next_cursor)


@bp.get("/inquiries")
@operation(ok=200, model=schemas.InquiryPage, errors=(), tag="Kundfrågor")
def list_inquiries(query: schemas.InquiryQuery):
    """Lista kundfrågor

    Nyast först, en sida i taget (next_cursor). Filtrera på besvarade/obesvarade och när
    de skickades. Sök på kundens personnummer med POST /inquiries/search: i en URL
    hamnar det i åtkomstloggar.
    """
    return _inquiry_page(query)


@bp.post("/inquiries/search")
@operation(ok=200, model=schemas.InquiryPage, errors=(), tag="Kundfrågor", safe=True)
def search_inquiries(json: schemas.InquirySearch):
    """Sök kundfrågor

    Som GET /inquiries, med filtren i kroppen: kundens personnummer, besvarade/obesvarade
    och när de skickades. Nyast först, en sida i taget (next_cursor i kroppen för nästa
    sida). Ändrar ingenting, så den tar ingen Idempotency-Key.
    """
    return _inquiry_page(json)


@bp.get("/inquiries/<uuid:inquiry_id>")
@operation(ok=200, model=schemas.Inquiry, errors=(404,), tag="Kundfrågor", path_params=INQUIRY_ID)
def get_inquiry(inquiry_id: uuid.UUID):
    """Läs en kundfråga

    Som webhooken inquiry.created levererade den, med status och svaret som har getts.
    """
    session = db_session()
    found = _load(inquiry_id)
    view = queries.inquiry_view(session, found)
    audit.record(
        session,
        auth.actor(),
        "inquiry.view",
        subject_type="inquiry",
        subject_id=found.id,
        details={"via": "api"},
    )
    return _inquiry(found, view.case, view.fullmakt, view.municipality, view.debts)


@bp.post("/inquiries/<uuid:inquiry_id>/answer")
@operation(
    ok=200, model=schemas.AnswerOut, errors=(404, 409), tag="Kundfrågor", path_params=INQUIRY_ID
)
def answer_inquiry(inquiry_id: uuid.UUID, json: schemas.AnswerIn):
    """Besvara en kundfråga

    {"answer": "no"} (ingen kundrelation) eller {"answer": "yes", "debts": [...]} med
    minst en skuld, beloppen i öre. Ett nej kan senare ändras till ja; annars är en
    besvarad fråga en 409, liksom när fullmakten inte längre gäller. Ett ja prenumererar
    er på fullmaktens händelser och skickar fullmakten till ert system (fullmakt.sent) om
    send_fullmakt är true och ni har en webhook-mottagare.
    """
    session = db_session()
    found = _load(inquiry_id)
    # The body has been validated against AnswerIn already (every field's error at its
    # path); parse_debts turns the debts into the service's input (one reader, one cap).
    rows = {
        i: {k: v for k, v in item.model_dump().items() if v is not None}
        for i, item in enumerate(json.debts or [])
    }
    debts = answers.parse_debts(rows, creditor_name=found.creditor.name)
    answers.answer(
        session,
        found,
        answer=Answer(json.answer),
        debts=debts,
        source="api",
        actor=auth.actor(),
        send_fullmakt=json.send_fullmakt,
    )
    view = queries.inquiry_view(session, found)
    idempotency.remember_data_key(view.case.data_key_id)
    return _answer(found, view.debts)


# -- fullmakter ----------------------------------------------------------------------------


@bp.get("/fullmakter/<uuid:fullmakt_id>")
@operation(
    ok=200,
    model=schemas.Fullmakt,
    errors=(404,),
    tag="Fullmakter",
    path_params={"fullmakt_id": "Fullmaktens id."},
)
def get_fullmakt(fullmakt_id: uuid.UUID):
    """Läs en fullmakt

    En fullmakt som ni har svarat ja på en kundfråga under: vem som gav den till vem och
    för hur länge (samma innehåll som webhooken fullmakt.sent).
    """
    session = db_session()
    fullmakt = subscriptions.fullmakt_for_creditor(session, g.api_org_id, fullmakt_id)
    if fullmakt is None:
        raise NotFound("Det finns ingen fullmakt med det id:t som ni har svarat ja under.")
    audit.record(
        session,
        auth.actor(),
        "fullmakt.view",
        subject_type="fullmakt",
        subject_id=fullmakt.id,
        details={"via": "api"},
    )
    return schemas.Fullmakt.model_validate(subscriptions.fullmakt_json(fullmakt, fullmakt.case))


# -- subscriptions -------------------------------------------------------------------------


@bp.get("/subscriptions")
@operation(ok=200, model=schemas.SubscriptionPage, errors=(), tag="Prenumerationer")
def list_subscriptions(query: schemas.SubscriptionQuery):
    """Lista prenumerationer

    Era prenumerationer på fullmakters händelser, nyast först.
    """
    rows = subscriptions.subscriptions_of(
        db_session(),
        g.api_org_id,
        active=query.active,
        before=pagination.before(query.cursor),
        limit=query.limit + 1,
    )
    page, next_cursor = pagination.split(rows, query.limit)
    codes = queries.fullmakt_codes(db_session(), {s.fullmakt_id for s in page})
    return schemas.SubscriptionPage(
        data=[_subscription(s, codes.get(s.fullmakt_id)) for s in page], next_cursor=next_cursor
    )


@bp.post("/subscriptions")
@operation(ok=201, model=schemas.Subscription, errors=(404, 409), tag="Prenumerationer")
def create_subscription(json: schemas.SubscriptionIn):
    """Prenumerera på en fullmakt

    Bara på en fullmakt som ni har svarat ja under (annars 404, som för en som inte finns), och bara
    medan den gäller (annars 409). En avslutad prenumeration återupptas. Med
    resend_fullmakt skickas fullmakten till ert system igen (fullmakt.sent).
    """
    session = db_session()
    creditor = subscriptions.creditor_of(session, g.api_org_id)
    fullmakt = subscriptions.fullmakt_for_creditor(session, g.api_org_id, json.fullmakt_id)
    if creditor is None or fullmakt is None:  # as for GET /fullmakter/{id}
        raise NotFound("Det finns ingen fullmakt med det id:t som ni har svarat ja under.")
    subscription = subscriptions.subscribe(
        session, creditor, fullmakt, source="api", by=auth.actor()
    )
    if json.resend_fullmakt:
        subscriptions.send_fullmakt(session, creditor, fullmakt, by=auth.actor())
    return _subscription(subscription, fullmakt.code), 201


@bp.delete("/subscriptions/<uuid:subscription_id>")
@operation(
    ok=204,
    model=None,
    errors=(404,),
    tag="Prenumerationer",
    path_params={"subscription_id": "Prenumerationens id."},
)
def delete_subscription(subscription_id: uuid.UUID):
    """Avsluta en prenumeration

    Inga fler händelser om fullmakten når er (t.ex. när kundrelationen har upphört). Att
    avsluta en avslutad prenumeration ändrar ingenting.
    """
    session = db_session()
    found = subscriptions.subscription_of(session, g.api_org_id, subscription_id)
    if found is None:
        raise NotFound("Det finns ingen prenumeration med det id:t hos er organisation.")
    subscriptions.unsubscribe(session, found, by=auth.actor())
    return "", 204


# -- webhook deliveries --------------------------------------------------------------------


def _load_delivery(delivery_id: uuid.UUID) -> WebhookDelivery:
    found = webhooks.delivery_of(db_session(), g.api_org_id, delivery_id)
    if found is None:
        raise NotFound("Det finns ingen leverans med det id:t till er organisation.")
    return found


DELIVERY_ID = {"delivery_id": "Leveransens id."}


@bp.get("/webhook-deliveries")
@operation(ok=200, model=schemas.DeliveryPage, errors=(), tag="Webhooks")
def list_deliveries(query: schemas.DeliveryQuery):
    """Lista webhook-leveranser

    Händelserna till era webhook-mottagare, nyast först, med status och antal försök.
    """
    rows = webhooks.deliveries_of(
        db_session(),
        g.api_org_id,
        status=DeliveryStatus(query.status) if query.status else None,
        before=pagination.before(query.cursor),
        limit=query.limit + 1,
    )
    page, next_cursor = pagination.split(rows, query.limit)
    return schemas.DeliveryPage(
        data=[schemas.Delivery(**_delivery_fields(d)) for d in page], next_cursor=next_cursor
    )


@bp.get("/webhook-deliveries/<uuid:delivery_id>")
@operation(
    ok=200, model=schemas.DeliveryDetail, errors=(404,), tag="Webhooks", path_params=DELIVERY_ID
)
def get_delivery(delivery_id: uuid.UUID):
    """Läs en webhook-leverans

    Med varje försök: när, vad mottagaren svarade, hur lång tid det tog och varför det
    misslyckades.
    """
    found = _load_delivery(delivery_id)
    attempts = [
        schemas.Attempt(
            attempted_at=a.attempted_at,
            trigger=a.trigger,
            status_code=a.status_code,
            latency_ms=a.latency_ms,
            error=a.error,
        )
        for a in found.attempt_log
    ]
    return schemas.DeliveryDetail(**_delivery_fields(found), attempt_log=attempts)


@bp.post("/webhook-deliveries/<uuid:delivery_id>/redeliver")
@operation(
    ok=202, model=schemas.Delivery, errors=(404, 409), tag="Webhooks", path_params=DELIVERY_ID
)
def redeliver_delivery(delivery_id: uuid.UUID):
    """Skicka en leverans igen

    Med samma webhook-id, så att ert system kan känna igen en dubblett. Köas genast;
    följ resultatet med GET /webhook-deliveries/{delivery_id}.
    """
    session = db_session()
    found = _load_delivery(delivery_id)
    webhooks.redeliver(session, auth.actor(), found)
    return schemas.Delivery(**_delivery_fields(found)), 202
