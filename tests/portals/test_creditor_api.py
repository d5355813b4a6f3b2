"""The creditor API (v1) driven from outside with a key: who gets in, listing with
filters and cursors, reading and answering inquiries (no, yes with debts, no → yes),
field errors, Idempotency-Key, fullmakter, subscriptions, webhook deliveries, and the
OpenAPI document with its reference page."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta

import jsonschema_rs
import pytest
from flask import Flask
from flask.testing import FlaskClient
from schemathesis.specs.openapi.definitions import OPENAPI_31
from sqlalchemy import String, func, select, type_coerce

from shared.core import clock, jobs
from shared.core import db as dbmod
from shared.core.actor import Actor
from shared.counselling import answers
from shared.counselling import fullmakt as fullmakt_service
from shared.counselling.models import Answer, Case, Debt, DebtSource, Inquiry, InquiryStatus
from shared.creditor_link import idempotency, webhook_endpoints
from shared.creditor_link.models import FullmaktSubscription, IdempotencyRecord, WebhookDelivery
from shared.identity import api_keys
from shared.identity.models import ApiKey, Channel, Creditor, Organisation, OrgKind, Role, User
from shared.security import crypto
from shared.security.models import AuditEntry
from tests.factories import (
    ERIK,
    OTHERS,
    Receiver,
    directory_entry,
    login_staff,
    run_jobs,
    send,
)
from tests.factories.worlds import World
from worker.jobs import attempt_webhook

PROBLEM = "application/problem+json"
V1 = "/api/v1"


@dataclass
class ApiWorld(World):
    """Banken AB (an API creditor) with an inquiry about Erik delivered to it and a key
    (``auth``); another agency with a key of its own (``theirs``). CSRF is on."""

    municipality: Organisation
    anna: User
    bank: Organisation
    entry: Creditor
    agency: Organisation
    admin: User
    other_admin: User
    inquiry: Inquiry
    case: Case
    client: FlaskClient
    app: Flask
    auth: dict[str, str]
    theirs: dict[str, str]


@pytest.fixture
def world(db, factories, make_app) -> ApiWorld:
    municipality = factories.org(OrgKind.MUNICIPALITY, "Skövde kommun")
    anna = factories.user(municipality, Role.COUNSELLOR, name="Anna Berg")
    bank = factories.org(OrgKind.CREDITOR, "Banken AB")
    entry = directory_entry(db, bank, Channel.API)
    agency = factories.org(OrgKind.AGENCY, "Andra Inkasso AB")
    directory_entry(db, agency, Channel.API)
    admin = factories.user(bank, Role.CREDITOR_ADMIN, name="Olle Admin")
    other_admin = factories.user(agency, Role.CREDITOR_ADMIN, name="Per Annan")
    inquiry = send(db, anna, ERIK, entry)
    _row, key = api_keys.create_key(db, admin, "Ekonomisystemet")
    _row, theirs = api_keys.create_key(db, other_admin, "Deras system")
    db.commit()
    app = make_app("creditor", WTF_CSRF_ENABLED=True)  # CSRF on, as in production
    return ApiWorld(
        municipality=municipality,
        anna=anna,
        bank=bank,
        entry=entry,
        agency=agency,
        admin=admin,
        other_admin=other_admin,
        inquiry=inquiry,
        case=inquiry.case,
        client=app.test_client(),
        app=app,
        auth={"Authorization": f"Bearer {key}"},
        theirs={"Authorization": f"Bearer {theirs}"},
    )


def get(world, path, **kw):
    return world.client.get(V1 + path, headers={**world.auth, **kw.pop("headers", {})}, **kw)


def post(world, path, body=None, *, key=None, headers=None, **kw):
    extra = {"Idempotency-Key": key} if key is not None else {}
    return world.client.post(
        V1 + path, json=body, headers={**world.auth, **extra, **(headers or {})}, **kw
    )


def answer_path(inquiry) -> str:
    return f"/inquiries/{inquiry.id}/answer"


def debts_of(db, inquiry):
    return db.scalars(
        select(Debt).where(Debt.inquiry_id == inquiry.id).order_by(Debt.capital_ore.desc())
    ).all()


def actions(db, action):
    return db.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


YES = {
    "answer": "yes",
    "debts": [
        {
            "reference": "L-1",
            "kind": "loan",
            "capital_ore": 1234500,
            "interest_ore": 0,
            "fees_ore": 0,
            "status": "undisputed",
            "original_creditor": None,
            "kfm_case": None,
        },
        {
            "reference": "K-2",
            "kind": "card",
            "capital_ore": 50000,
            "interest_ore": 1200,
            "fees_ore": 6000,
            "status": "at_kfm",
            "kfm_case": "KFM-1",
        },
    ],
}


# -- who gets in ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header", [None, "Bearer ", "Bearer sk_live_nope", "Basic abc", "Bearer sk_live_" + "x" * 43]
)
def test_without_a_valid_key_every_operation_is_401(world, header):
    c, inquiry = world.client, world.inquiry
    headers = {"Authorization": header} if header is not None else {}
    calls = [
        c.get(f"{V1}/inquiries", headers=headers),
        c.get(f"{V1}/inquiries/{inquiry.id}", headers=headers),
        c.post(V1 + answer_path(inquiry), json={"answer": "no"}, headers=headers),
        c.get(f"{V1}/subscriptions", headers=headers),
        c.delete(f"{V1}/subscriptions/{uuid.uuid4()}", headers=headers),
        c.get(f"{V1}/webhook-deliveries", headers=headers),
    ]
    for r in calls:
        assert r.status_code == 401 and r.mimetype == PROBLEM, r.request.path
        assert r.json["code"] == "invalid_api_key" and r.json["status"] == 401
        assert r.headers["WWW-Authenticate"].startswith('Bearer realm="skuldkoll"')
        assert "Set-Cookie" not in r.headers
    assert ("invalid_token" in calls[0].headers["WWW-Authenticate"]) == (
        header not in (None, "Basic abc", "Bearer ")
    )


def test_a_revoked_key_is_401(world, db):
    key = db.scalars(select(ApiKey).where(ApiKey.organisation_id == world.bank.id)).one()
    api_keys.revoke_key(db, world.admin, key)
    db.commit()
    r = post(world, answer_path(world.inquiry), {"answer": "no"})
    assert r.status_code == 401 and r.mimetype == PROBLEM
    assert "återkallad" in r.json["detail"]
    db.expire_all()
    assert world.inquiry.status == InquiryStatus.DELIVERED


def test_another_organisations_inquiry_is_404_like_a_missing_one(world, db):
    inquiry, theirs = world.inquiry, world.theirs
    c = world.client
    mine = c.get(f"{V1}/inquiries/{inquiry.id}", headers=theirs)
    missing = c.get(f"{V1}/inquiries/{uuid.uuid4()}", headers=world.auth)
    assert mine.status_code == missing.status_code == 404
    assert mine.mimetype == PROBLEM and mine.json["code"] == missing.json["code"] == "not_found"
    assert mine.json["detail"] == missing.json["detail"]
    r = c.post(V1 + answer_path(inquiry), json={"answer": "no"}, headers=theirs)
    assert r.status_code == 404
    listed = c.get(f"{V1}/inquiries", headers=theirs)
    assert listed.status_code == 200 and listed.json == {"data": [], "next_cursor": None}
    db.expire_all()
    assert inquiry.status == InquiryStatus.DELIVERED
    assert dbmod.current_org.get() is None  # the key's tenant ended with the request


def test_unknown_paths_and_methods_are_problems(world):
    c = world.client
    r = c.get(f"{V1}/nothing-here", headers=world.auth)
    assert r.status_code == 404 and r.mimetype == PROBLEM
    r = c.get(f"{V1}/inquiries/not-a-uuid", headers=world.auth)
    assert r.status_code == 404 and r.mimetype == PROBLEM
    r = c.put(V1 + answer_path(world.inquiry), json={"answer": "no"}, headers=world.auth)
    assert r.status_code == 405 and r.mimetype == PROBLEM


# -- reading ----------------------------------------------------------------------------------


def test_read_an_inquiry(world, db):
    inquiry, case = world.inquiry, world.case
    r = get(world, f"/inquiries/{inquiry.id}")
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert r.headers["Cache-Control"] == "no-store" and "Set-Cookie" not in r.headers
    body = r.json
    assert body["inquiry_id"] == str(inquiry.id) and body["status"] == "delivered"
    assert body["personal_number"] == ERIK and body["principal_name"] == "Erik Andersson"
    assert body["agent"] == {
        "organisation": "Skövde kommun",
        "orgnr": world.municipality.orgnr,
        "counsellor": "Anna Berg",
    }
    assert body["fullmakt"]["id"] == str(case.fullmakt.id)
    assert body["fullmakt"]["code"] == case.fullmakt.code
    assert body["fullmakt"]["valid_until"] == case.fullmakt.valid_until.isoformat()
    assert body["answer_url"].endswith(f"/creditor/api/v1/inquiries/{inquiry.id}/answer")
    assert body["answer"] is None and body["debts"] == [] and body["changed_at"] is None
    [entry] = actions(db, "inquiry.view")
    assert entry.subject_id == str(inquiry.id) and entry.details == {"via": "api"}
    assert entry.actor_type == "api"
    key = db.scalars(select(ApiKey).where(ApiKey.organisation_id == world.bank.id)).one()
    db.expire_all()
    assert key.last_used_at is not None


@pytest.fixture
def five(world, db):
    """Five more inquiries to the bank, a day apart (the newest today), and one to the
    other agency."""
    sent = []
    start = clock.now() - timedelta(days=5)
    for n, pnr in enumerate(OTHERS):
        with clock.frozen(start + timedelta(days=n)):
            sent.append(send(db, world.anna, pnr, world.entry))
    other = db.scalars(select(Creditor).where(Creditor.organisation_id == world.agency.id)).one()
    send(db, world.anna, "196211306920", other)
    return sent


def test_list_pages_by_cursor_without_duplicates_or_gaps(world, five, db):
    seen, cursor, pages = [], None, 0
    while True:
        r = get(
            world, "/inquiries", query_string={"limit": 2, **({"cursor": cursor} if cursor else {})}
        )
        assert r.status_code == 200, r.json
        pages += 1
        seen += [row["inquiry_id"] for row in r.json["data"]]
        cursor = r.json["next_cursor"]
        if cursor is None:
            break
        # a new inquiry arriving while paging does not shift the pages
        if pages == 1:
            send(db, world.anna, "194804177659", world.entry)
    assert pages == 3 and len(seen) == len(set(seen)) == 6
    expected = [
        str(i.id)
        for i in sorted([world.inquiry, *five], key=lambda i: (i.created_at, i.id), reverse=True)
    ]
    assert seen == expected
    listed = actions(db, "inquiries.listed")
    assert len(listed) == 3 and listed[0].details["via"] == "api"


def test_cursors_hold_when_many_were_sent_at_the_same_moment(world, db):
    with clock.frozen(clock.now()):
        batch = [send(db, world.anna, pnr, world.entry) for pnr in OTHERS[:4]]
    seen, cursor = [], None
    while True:
        r = get(
            world, "/inquiries", query_string={"limit": 1, **({"cursor": cursor} if cursor else {})}
        )
        seen += [row["inquiry_id"] for row in r.json["data"]]
        cursor = r.json["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(str(i.id) for i in [world.inquiry, *batch])
    assert len(seen) == len(set(seen)) == 5


def test_list_filters(world, five, db):
    answers.answer(
        db,
        five[0],
        answer=Answer.NO,
        debts=[],
        source="form",
        actor=Actor.user(world.admin),
    )
    db.commit()

    def ids(**query):
        r = get(world, "/inquiries", query_string=query)
        assert r.status_code == 200, r.json
        # the search with the filters in the body (the number in no URL) finds the same
        searched = post(world, "/inquiries/search", query)
        assert searched.status_code == 200 and searched.json == r.json, searched.json
        return [row["inquiry_id"] for row in r.json["data"]]

    assert ids(status="answered") == [str(five[0].id)]
    assert str(five[0].id) not in ids(status="unanswered") and len(ids(status="unanswered")) == 5
    assert ids(personal_number="19840312-2719") == [str(world.inquiry.id)]
    assert ids(personal_number=OTHERS[1]) == [str(five[1].id)]
    assert ids(personal_number="196211306920") == []  # only to the other agency
    first_day = (clock.now() - timedelta(days=5)).astimezone(clock.STOCKHOLM).date()
    assert ids(sent_from=first_day.isoformat(), sent_to=first_day.isoformat()) == [str(five[0].id)]
    assert set(ids(sent_from=(first_day + timedelta(days=3)).isoformat())) == {
        str(five[3].id),
        str(five[4].id),
        str(world.inquiry.id),
    }
    # after a no, the list says nothing more about the person than the number
    [said_no] = get(world, "/inquiries", query_string={"status": "answered"}).json["data"]
    assert said_no["personal_number"] == OTHERS[0] and said_no["answer"] == "no"
    assert said_no["principal_name"] is None and said_no["agent"] is None


def test_a_well_formed_number_that_is_no_personnummer_matches_nothing(world):
    # the shape is the document's pattern; the check digit cannot be, so it is no error
    r = get(world, "/inquiries", query_string={"personal_number": "19840312-2710"})
    assert r.status_code == 200 and r.json["data"] == []


def test_every_cursor_of_the_documented_shape_is_a_position(world):
    r = get(world, "/inquiries", query_string={"cursor": "1_" + "f" * 32})
    assert r.status_code == 200 and r.json == {"data": [], "next_cursor": None}
    r = get(world, "/inquiries", query_string={"cursor": "9" * 16 + "_" + "0" * 32})
    assert r.status_code == 200 and len(r.json["data"]) == 1


def test_lone_surrogates_and_huge_amounts_are_422_not_500(world):
    bad = {
        "answer": "yes",
        "debts": [
            {"kind": "loan", "capital_ore": 10**19, "reference": "ok"},
            {"kind": "loan", "capital_ore": 100, "note": "\ud800"},
            {"kind": "loan", "capital_ore": 1200.0, "reference": "float ok"},
        ],
    }
    r = world.client.post(
        V1 + answer_path(world.inquiry),
        headers=world.auth,
        data=json.dumps(bad),
        content_type="application/json",
    )
    assert r.status_code == 422
    assert {e["field"] for e in r.json["errors"]} == {"debts[0].capital_ore", "debts[1].note"}


def test_an_unsupported_method_says_which_are_allowed(world):
    r = world.client.open(V1 + "/inquiries", method="TRACE", headers=world.auth)
    assert r.status_code == 405 and r.mimetype == PROBLEM
    assert set(r.headers["Allow"].replace(" ", "").split(",")) >= {"GET"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "x"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "WyJ4IiwgMV0"}, "cursor"),
        ({"status": "maybe"}, "status"),
        ({"personal_number": "1984-03-12"}, "personal_number"),
        ({"cursor": "1732480000_" + "0" * 31}, "cursor"),
        ({"sent_from": "31/12"}, "sent_from"),
    ],
)
@pytest.mark.parametrize("how", ["query", "body"])
def test_bad_list_parameters_are_422_at_the_parameter(world, query, field, how):
    if how == "query":
        r = get(world, "/inquiries", query_string=query)
    else:  # POST /inquiries/search
        r = post(world, "/inquiries/search", query)
    assert r.status_code == 422 and r.mimetype == PROBLEM
    assert [e["field"] for e in r.json["errors"]] == [field]
    if field == "personal_number":
        assert "ÅÅÅÅMMDD-NNNN" in r.json["errors"][0]["message"]
    if field == "cursor":
        assert "next_cursor" in r.json["errors"][0]["message"]


# -- answering ------------------------------------------------------------------------------


def test_answer_yes_with_debts_then_409(world, db):
    inquiry = world.inquiry
    r = post(world, answer_path(inquiry), YES)
    assert r.status_code == 200, r.json
    assert r.json["answer"] == "yes" and r.json["status"] == "answered"
    assert r.json["answer_source"] == "api" and r.json["changed_at"] is None
    assert [d["reference"] for d in r.json["debts"]] == ["L-1", "K-2"]
    assert r.json["debts"][1]["total_ore"] == 57_200
    db.expire_all()
    key = db.scalars(select(ApiKey).where(ApiKey.organisation_id == world.bank.id)).one()
    assert inquiry.status == InquiryStatus.ANSWERED and inquiry.answered_by == Actor(
        "api", str(key.id)
    )
    assert {d.source for d in debts_of(db, inquiry)} == {DebtSource.API}
    # a yes subscribes the bank to the fullmakt
    sub = db.scalars(select(FullmaktSubscription)).one()
    assert sub.active and sub.fullmakt_id == inquiry.fullmakt_id and sub.source == "answer"
    again = post(world, answer_path(inquiry), {"answer": "no"})
    assert again.status_code == 409 and again.mimetype == PROBLEM
    assert again.json["code"] == "already_answered"
    read = get(world, f"/inquiries/{inquiry.id}")
    assert read.json["answer"] == "yes" and len(read.json["debts"]) == 2


def test_answer_no_then_change_it_to_yes(world, db):
    inquiry = world.inquiry
    r = post(world, answer_path(inquiry), {"answer": "no"})
    assert r.status_code == 200 and r.json["answer"] == "no" and r.json["debts"] == []
    answered_at = r.json["answered_at"]
    read = get(world, f"/inquiries/{inquiry.id}").json
    assert read["principal_name"] is None and read["agent"] is None
    assert read["personal_number"] == ERIK
    yes = post(world, answer_path(inquiry), {**YES, "send_fullmakt": False})
    assert yes.status_code == 200, yes.json
    assert yes.json["answer"] == "yes" and yes.json["answered_at"] == answered_at
    assert yes.json["changed_at"] is not None and len(yes.json["debts"]) == 2
    assert get(world, f"/inquiries/{inquiry.id}").json["principal_name"] == "Erik Andersson"
    db.expire_all()
    assert inquiry.answer == Answer.YES and len(debts_of(db, inquiry)) == 2
    back = post(world, answer_path(inquiry), {"answer": "no"})
    assert back.status_code == 409 and back.json["code"] == "already_answered"


def test_422_lists_every_field_error_with_its_path(world, db):
    inquiry = world.inquiry
    body = {
        "answer": "yes",
        "debts": [
            {"reference": "A", "kind": "loan", "capital_ore": 100},
            {"reference": "B", "kind": "boat", "capital_ore": 100},
            {"reference": "C", "kind": "card", "capital_ore": -5},
            {"reference": "D", "kind": "card"},
            "not an object",
            {"kind": "card", "capital_ore": "100", "reference": 7, "interest_rate_bp": 200_000},
        ],
    }
    r = post(world, answer_path(inquiry), body)
    assert r.status_code == 422 and r.mimetype == PROBLEM and r.json["code"] == "invalid_answer"
    fields = {e["field"]: e["message"] for e in r.json["errors"]}
    assert set(fields) == {
        "debts[1].kind",
        "debts[2].capital_ore",
        "debts[3].capital_ore",
        "debts[4]",
        "debts[5].capital_ore",
        "debts[5].reference",
        "debts[5].interest_rate_bp",
    }
    assert fields["debts[1].kind"].startswith("Okänd skuldtyp; välj en av: loan")
    assert fields["debts[2].capital_ore"] == "Ett heltal i öre, minst 0."
    assert fields["debts[3].capital_ore"] == "Kapitalet i öre (ett heltal) måste anges."
    assert fields["debts[4]"] == "Varje skuld är ett JSON-objekt."
    assert fields["debts[5].capital_ore"] == "Fel typ: ett heltal eller null."
    assert fields["debts[5].reference"] == "Fel typ: en sträng eller null."
    assert "baspunkter" in fields["debts[5].interest_rate_bp"]
    bad_answer = post(world, answer_path(inquiry), {"answer": "kanske"})
    assert bad_answer.status_code == 422 and bad_answer.json["errors"][0]["field"] == "answer"
    assert '"yes"' in bad_answer.json["errors"][0]["message"]
    too_many = post(
        world,
        answer_path(inquiry),
        {"answer": "yes", "debts": [{"kind": "loan", "capital_ore": 1}] * 101},
    )
    assert too_many.json["errors"] == [
        {"field": "debts", "message": "Högst 100 skulder i ett svar."}
    ]
    no_with_debts = post(
        world, answer_path(inquiry), {"answer": "no", "debts": [{"kind": "loan", "capital_ore": 1}]}
    )
    assert no_with_debts.status_code == 422
    assert no_with_debts.json["errors"] == [
        {"field": "debts", "message": "Ett nej-svar kan inte ha skulder."}
    ]
    not_json = world.client.post(V1 + answer_path(inquiry), data="answer=no", headers=world.auth)
    assert not_json.status_code == 400 and not_json.mimetype == PROBLEM
    assert not_json.json["code"] == "invalid_json"
    a_list = post(world, answer_path(inquiry), ["no"])
    assert a_list.status_code == 400
    db.expire_all()
    assert inquiry.status == InquiryStatus.DELIVERED and debts_of(db, inquiry) == []


def test_a_yes_without_debts_is_422_at_debts(world, db):
    inquiry = world.inquiry
    for body in ({"answer": "yes", "debts": []}, {"answer": "yes"}):
        r = post(world, answer_path(inquiry), body)
        assert r.status_code == 422 and r.mimetype == PROBLEM, body
        assert r.json["code"] == "invalid_answer"
        assert [e["field"] for e in r.json["errors"]] == ["debts"]
        assert "minst en skuld" in r.json["errors"][0]["message"]
    db.expire_all()
    assert inquiry.status == InquiryStatus.DELIVERED and inquiry.answer is None
    assert db.scalars(select(FullmaktSubscription)).all() == []  # a refused yes follows nothing


def test_an_answer_after_the_fullmakt_was_revoked_is_409(world, db):
    case = world.case
    fullmakt_service.revoke(db, case.person, case.fullmakt)
    db.commit()
    r = post(world, answer_path(world.inquiry), {"answer": "no"})
    assert r.status_code == 409 and r.json["code"] == "fullmakt_not_valid"
    db.expire_all()
    assert world.inquiry.answer is None


# -- Idempotency-Key ------------------------------------------------------------------------


def test_a_repeat_with_the_same_key_replays_the_first_response(world, db):
    inquiry, key = world.inquiry, str(uuid.uuid4())
    first = post(world, answer_path(inquiry), YES, key=key)
    assert first.status_code == 200 and "Idempotent-Replayed" not in first.headers
    # the same request with its members in another order is the same request
    reordered = json.loads(json.dumps(YES))
    reordered["debts"] = [dict(reversed(d.items())) for d in reordered["debts"]]
    again = world.client.post(
        V1 + answer_path(inquiry),
        data=json.dumps(dict(reversed(reordered.items()))),
        content_type="application/json",
        headers={**world.auth, "Idempotency-Key": key},
    )
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data()
    db.expire_all()
    assert len(debts_of(db, inquiry)) == 2 and len(actions(db, "inquiry.answered")) == 1
    record = db.scalars(select(IdempotencyRecord)).one()
    assert record.status_code == 200 and record.organisation_id == world.bank.id
    assert record.endpoint == f"POST /creditor{V1}{answer_path(inquiry)}"
    assert record.expires_at - record.created_at == timedelta(hours=24)
    # the stored response holds the case's data: under the case's own key
    raw = db.execute(
        select(type_coerce(IdempotencyRecord.__table__.c.response_body, String))
    ).scalar()
    # a ciphertext token with no JSON in clear (no quote: the "L-1" of the body is not
    # there; the letters L-1 alone may occur in base64url by chance)
    assert raw.startswith("v1.") and '"' not in raw
    assert crypto.token_key_id(raw) == world.case.data_key_id
    # without the key the same request is a new one, refused as already answered
    assert post(world, answer_path(inquiry), YES).status_code == 409


def test_the_same_key_with_another_request_is_422(world, db):
    inquiry, key = world.inquiry, "nyckel-1"
    assert post(world, answer_path(inquiry), {"answer": "no"}, key=key).status_code == 200
    other_body = post(world, answer_path(inquiry), YES, key=key)
    assert other_body.status_code == 422 and other_body.mimetype == PROBLEM
    assert other_body.json["errors"][0]["field"] == "Idempotency-Key"
    assert other_body.json["code"] == "idempotency_key_reused"
    elsewhere = post(world, "/subscriptions", {"fullmakt_id": str(inquiry.fullmakt_id)}, key=key)
    assert elsewhere.status_code == 422
    assert elsewhere.json["errors"][0]["field"] == "Idempotency-Key"
    db.expire_all()
    assert inquiry.answer == Answer.NO and debts_of(db, inquiry) == []
    # keys are per organisation: the other agency may use the same one
    theirs = world.client.post(
        V1 + answer_path(inquiry),
        json={"answer": "no"},
        headers={**world.theirs, "Idempotency-Key": key},
    )
    assert theirs.status_code == 404


def test_a_failed_request_does_not_use_up_its_key(world, db):
    inquiry, key = world.inquiry, "nyckel-2"
    bad = post(world, answer_path(inquiry), {"answer": "kanske"}, key=key)
    assert bad.status_code == 422
    assert db.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0
    good = post(world, answer_path(inquiry), {"answer": "no"}, key=key)
    assert good.status_code == 200 and "Idempotent-Replayed" not in good.headers


def test_a_refusal_of_the_service_is_a_problem_and_does_not_use_up_its_key(world, db):
    """The service's FieldError and NotAllowed reach the client as problem+json through
    the portal's one handler, with the API's codes, and are never stored as the key's
    response: the key stays free for the corrected request."""
    inquiry, key = world.inquiry, "nyckel-domain"
    no_with_debts = {"answer": "no", "debts": [{"kind": "loan", "capital_ore": 1}]}
    refused = post(world, answer_path(inquiry), no_with_debts, key=key)
    assert refused.status_code == 422 and refused.mimetype == PROBLEM
    assert refused.json["code"] == "invalid_answer"
    assert refused.json["errors"] == [
        {"field": "debts", "message": "Ett nej-svar kan inte ha skulder."}
    ]
    assert db.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0
    good = post(world, answer_path(inquiry), {"answer": "no"}, key=key)  # another body
    assert good.status_code == 200 and "Idempotent-Replayed" not in good.headers
    later = "nyckel-domain-2"
    for _ in range(2):  # refused each time, never replayed
        again = post(world, answer_path(inquiry), {"answer": "no"}, key=later)
        assert again.status_code == 409 and again.json["code"] == "already_answered"
        assert "Idempotent-Replayed" not in again.headers
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(IdempotencyRecord)) == 1  # the 200


def test_a_key_still_in_progress_is_409_and_an_abandoned_one_is_taken_over(world, db):
    inquiry, key = world.inquiry, "nyckel-3"
    with dbmod.tenant(world.bank.id):
        outcome = idempotency.claim(
            db,
            world.bank.id,
            key,
            endpoint="POST x",
            fingerprint=idempotency.request_hash(
                "POST", f"/creditor{V1}{answer_path(inquiry)}", b'{"answer":"no"}'
            ),
        )
    db.commit()
    assert isinstance(outcome, idempotency.Claimed)
    busy = post(world, answer_path(inquiry), {"answer": "no"}, key=key)
    assert busy.status_code == 409 and busy.json["code"] == "idempotency_key_in_use"
    with clock.frozen(clock.now() + idempotency.ABANDONED_AFTER + timedelta(seconds=1)):
        r = post(world, answer_path(inquiry), {"answer": "no"}, key=key)
    assert r.status_code == 200


@pytest.mark.parametrize("key", ["", " ", "k" * 256])
def test_a_bad_key_is_422_at_the_header(world, key):
    r = post(world, answer_path(world.inquiry), {"answer": "no"}, key=key)
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "Idempotency-Key"


def test_records_older_than_a_day_are_purged(world, db):
    post(world, answer_path(world.inquiry), {"answer": "no"}, key="gammal")
    assert idempotency.purge_expired(db) == 0
    with clock.frozen(clock.now() + timedelta(hours=24, seconds=1)):
        assert idempotency.purge_expired(db) == 1
    assert db.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0


# -- fullmakter and subscriptions -------------------------------------------------------------


def test_a_fullmakt_is_readable_after_a_yes_only(world, db):
    inquiry, case = world.inquiry, world.case
    path = f"/fullmakter/{inquiry.fullmakt_id}"
    assert get(world, path).status_code == 404  # not answered yet
    post(world, answer_path(inquiry), YES)
    r = get(world, path)
    assert r.status_code == 200, r.json
    assert r.json["code"] == case.fullmakt.code and r.json["type"] == "debt_counselling"
    assert r.json["principal"] == {"personal_number": ERIK, "name": "Erik Andersson"}
    assert r.json["agent"]["counsellor"] == "Anna Berg" and r.json["status"] == "active"
    [entry] = actions(db, "fullmakt.view")
    assert entry.subject_id == str(inquiry.fullmakt_id) and entry.details == {"via": "api"}
    assert world.client.get(V1 + path, headers=world.theirs).status_code == 404


def test_subscriptions_list_end_and_resume(world, db):
    inquiry = world.inquiry
    assert post(world, answer_path(inquiry), {**YES, "send_fullmakt": False}).status_code == 200
    listed = get(world, "/subscriptions").json
    [sub] = listed["data"]
    assert listed["next_cursor"] is None
    assert sub["fullmakt_id"] == str(inquiry.fullmakt_id) and sub["active"] is True
    assert sub["fullmakt_code"] == world.case.fullmakt.code and sub["source"] == "answer"
    # another organisation cannot see or end it
    assert (
        world.client.delete(f"{V1}/subscriptions/{sub['id']}", headers=world.theirs).status_code
        == 404
    )
    assert world.client.get(f"{V1}/subscriptions", headers=world.theirs).json["data"] == []
    ended = world.client.delete(f"{V1}/subscriptions/{sub['id']}", headers=world.auth)
    assert ended.status_code == 204 and ended.get_data() == b""
    assert "Content-Type" not in ended.headers
    assert get(world, "/subscriptions", query_string={"active": "true"}).json["data"] == []
    [gone] = get(world, "/subscriptions", query_string={"active": "false"}).json["data"]
    assert gone["active"] is False and gone["ended_at"] is not None
    again = world.client.delete(f"{V1}/subscriptions/{sub['id']}", headers=world.auth)
    assert again.status_code == 204
    assert (
        world.client.delete(f"{V1}/subscriptions/{uuid.uuid4()}", headers=world.auth).status_code
        == 404
    )
    resumed = post(world, "/subscriptions", {"fullmakt_id": str(inquiry.fullmakt_id)})
    assert resumed.status_code == 201, resumed.json
    assert resumed.json["id"] == sub["id"] and resumed.json["active"] is True
    assert resumed.json["source"] == "api"
    db.expire_all()
    assert {
        e.action
        for e in db.scalars(
            select(AuditEntry).where(AuditEntry.subject_type == "fullmakt_subscription")
        )
    } >= {
        "fullmakt_subscription.created",
        "fullmakt_subscription.ended",
        "fullmakt_subscription.resumed",
    }


def test_subscribing_needs_a_yes_and_a_valid_fullmakt(world, db):
    inquiry = world.inquiry
    # not answered yes yet: as unknown as a fullmakt that does not exist
    before = post(world, "/subscriptions", {"fullmakt_id": str(inquiry.fullmakt_id)})
    assert before.status_code == 404 and before.json["code"] == "not_found"
    unknown = post(world, "/subscriptions", {"fullmakt_id": str(uuid.uuid4())})
    assert unknown.status_code == 404
    bad = post(world, "/subscriptions", {"fullmakt_id": "x", "resend_fullmakt": "ja"})
    assert {e["field"] for e in bad.json["errors"]} == {"fullmakt_id", "resend_fullmakt"}
    post(world, answer_path(inquiry), {**YES, "send_fullmakt": False})
    # without a webhook endpoint the fullmakt cannot be sent to the bank's system
    resend = post(
        world, "/subscriptions", {"fullmakt_id": str(inquiry.fullmakt_id), "resend_fullmakt": True}
    )
    assert resend.status_code == 409 and "webhook" in resend.json["detail"]
    case = world.case
    fullmakt_service.revoke(db, case.person, case.fullmakt)
    db.commit()
    ended = post(world, "/subscriptions", {"fullmakt_id": str(inquiry.fullmakt_id)})
    assert ended.status_code == 409 and ended.mimetype == PROBLEM


def test_subscriptions_page_by_cursor(world, five, db):
    for inquiry in five:
        answers.answer(
            db,
            inquiry,
            answer=Answer.YES,
            debts=[answers.DebtInput("Banken AB", "L-1", "loan", "undisputed", 100_000)],
            source="api",
            actor=Actor("api", str(uuid.uuid4())),
            send_fullmakt=False,
        )
    run_jobs(db, jobs.FOLLOW_YES_ANSWER)
    seen, cursor = [], None
    while True:
        r = get(
            world,
            "/subscriptions",
            query_string={"limit": 2, **({"cursor": cursor} if cursor else {})},
        )
        seen += [s["id"] for s in r.json["data"]]
        cursor = r.json["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5


# -- webhook deliveries ---------------------------------------------------------------------


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def endpoint(world, db, receiver):
    endpoint, secret = webhook_endpoints.add_endpoint(db, world.admin, receiver.url)
    db.commit()
    return endpoint


def test_a_yes_sends_the_fullmakt_and_the_deliveries_are_listed(world, db, endpoint, receiver):
    inquiry = world.inquiry
    assert post(world, answer_path(inquiry), YES).status_code == 200
    # the worker's job ran in-process after the commit; the receiver was down (503)
    assert len(receiver.received) == 1
    listed = get(world, "/webhook-deliveries")
    assert listed.status_code == 200, listed.json
    [delivery] = listed.json["data"]
    assert delivery["event_type"] == "fullmakt.sent" and delivery["status"] == "pending"
    assert delivery["webhook_id"] == receiver.received[0][0]["webhook-id"]
    assert delivery["attempts"] == 1 and delivery["last_status_code"] == 503
    assert delivery["endpoint_url"] == receiver.url and delivery["next_attempt_at"]
    assert "payload" not in delivery and "data" not in delivery
    assert get(world, "/webhook-deliveries", query_string={"status": "failed"}).json["data"] == []
    assert world.client.get(f"{V1}/webhook-deliveries", headers=world.theirs).json["data"] == []
    detail = get(world, f"/webhook-deliveries/{delivery['id']}")
    assert detail.status_code == 200
    [attempt] = detail.json["attempt_log"]
    assert attempt["trigger"] == "first" and attempt["status_code"] == 503
    assert attempt["error"].startswith("HTTP 503") and attempt["latency_ms"] >= 0
    assert (
        world.client.get(
            f"{V1}/webhook-deliveries/{delivery['id']}", headers=world.theirs
        ).status_code
        == 404
    )
    # the receiver is back: redeliver now, with the same webhook-id
    receiver.status = 204
    again = post(world, f"/webhook-deliveries/{delivery['id']}/redeliver", key="omsändning")
    assert again.status_code == 202, again.json
    assert again.json["status"] == "pending" and again.json["webhook_id"] == delivery["webhook_id"]
    assert [h["webhook-id"] for h, _body in receiver.received] == [delivery["webhook_id"]] * 2
    detail = get(world, f"/webhook-deliveries/{delivery['id']}").json
    assert detail["status"] == "succeeded" and detail["attempts"] == 2
    assert [a["trigger"] for a in detail["attempt_log"]] == ["first", "redeliver"]
    replay = post(world, f"/webhook-deliveries/{delivery['id']}/redeliver", key="omsändning")
    assert replay.status_code == 202 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_data() == again.get_data() and len(receiver.received) == 2
    assert len(actions(db, "webhook.redelivered")) == 1
    assert post(world, f"/webhook-deliveries/{uuid.uuid4()}/redeliver").status_code == 404


def test_deliveries_page_by_cursor(world, db, endpoint, five):
    for inquiry in five:
        answers.answer(
            db,
            inquiry,
            answer=Answer.YES,
            debts=[answers.DebtInput("Banken AB", "L-1", "loan", "undisputed", 100_000)],
            source="api",
            actor=Actor("api", str(uuid.uuid4())),
        )
        db.commit()
    seen, cursor = [], None
    while True:
        r = get(
            world,
            "/webhook-deliveries",
            query_string={"limit": 2, **({"cursor": cursor} if cursor else {})},
        )
        assert r.status_code == 200, r.json
        seen += [d["id"] for d in r.json["data"]]
        cursor = r.json["next_cursor"]
        if cursor is None:
            break
    assert (
        len(seen)
        == len(set(seen))
        == db.scalar(select(func.count()).select_from(WebhookDelivery))
        >= 5
    )


def test_redelivery_to_a_disabled_endpoint_is_409(world, db, endpoint):
    post(world, answer_path(world.inquiry), YES)
    row = db.scalars(select(WebhookDelivery)).one()
    webhook_endpoints.disable_endpoint(db, world.admin, endpoint)
    db.commit()
    r = post(world, f"/webhook-deliveries/{row.id}/redeliver")
    assert r.status_code == 409 and r.mimetype == PROBLEM


# -- the document and the reference page ------------------------------------------------------


@pytest.fixture
def document(world):
    r = world.client.get(f"{V1}/openapi.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert "Set-Cookie" not in r.headers
    return r.json


OPERATIONS = {
    ("get", "/inquiries"),
    ("post", "/inquiries/search"),
    ("get", "/inquiries/{inquiry_id}"),
    ("post", "/inquiries/{inquiry_id}/answer"),
    ("get", "/fullmakter/{fullmakt_id}"),
    ("get", "/subscriptions"),
    ("post", "/subscriptions"),
    ("delete", "/subscriptions/{subscription_id}"),
    ("get", "/webhook-deliveries"),
    ("get", "/webhook-deliveries/{delivery_id}"),
    ("post", "/webhook-deliveries/{delivery_id}/redeliver"),
}


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"] == "3.1.0"
    jsonschema_rs.validator_for(OPENAPI_31).validate(document)  # raises when invalid
    assert document["servers"] == [{"url": "/creditor/api/v1", "description": "Skuldkoll"}]
    assert {(m, p) for p, ops in document["paths"].items() for m in ops} == OPERATIONS
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    assert document["security"] == [{"apiKey": []}]


def test_every_operation_declares_its_errors_as_problems(document):
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            responses = op["responses"]
            assert "401" in responses, (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
            if "requestBody" in op:
                assert {"400", "422"} <= set(responses), (method, path)
            for status, response in responses.items():
                if int(status) >= 400:
                    assert list(response["content"]) == [PROBLEM], (method, path, status)
    assert "409" in document["paths"]["/inquiries/{inquiry_id}/answer"]["post"]["responses"]


def test_every_post_declares_the_idempotency_key_header(document):
    search = document["paths"]["/inquiries/search"]["post"]  # changes nothing: no key
    posts = [
        op
        for ops in document["paths"].values()
        for m, op in ops.items()
        if m == "post" and op is not search
    ]
    assert len(posts) == 3
    for op in posts:
        [header] = [p for p in op["parameters"] if p["in"] == "header"]
        assert header["name"] == "Idempotency-Key" and header["required"] is False
        assert header["schema"]["maxLength"] == 255
    assert all(p["in"] != "header" for p in search.get("parameters", []))
    assert "Idempotent-Replayed" not in str(search["responses"])


def test_the_number_in_the_url_is_deprecated_for_the_search_in_the_body(world, document, db):
    [number] = [
        p
        for p in document["paths"]["/inquiries"]["get"]["parameters"]
        if p["name"] == "personal_number"
    ]
    assert number["deprecated"] is True and "POST /inquiries/search" in number["description"]
    search = document["paths"]["/inquiries/search"]["post"]
    body = search["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/InquirySearch"}
    schema = document["components"]["schemas"]["InquirySearch"]["properties"]
    assert "deprecated" not in schema["personal_number"]
    # a search is no request to repeat: an Idempotency-Key is ignored, nothing stored
    for _ in range(2):
        r = post(world, "/inquiries/search", {"personal_number": ERIK}, key="sök-1")
        assert r.status_code == 200 and "Idempotent-Replayed" not in r.headers
        assert [row["personal_number"] for row in r.json["data"]] == [ERIK]
    assert db.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0


def test_the_reference_page_is_rendered_from_the_document(world, document):
    r = world.client.get(f"{V1}/reference")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" in html and "<script>" not in html
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            assert f"<code>{method.upper()} {path}</code>" in html
            assert op["summary"] in html
    for event in (
        "inquiry.created",
        "fullmakt.sent",
        "fullmakt.signed",
        "fullmakt.revoked",
        "fullmakt.validity_changed",
        "fullmakt.expiring",
        "fullmakt.expired",
        "fullmakt.deleted",
    ):
        assert f"<code>{event}</code>" in html
    for words in (
        "webhook-signature",
        "webhook-timestamp",
        "Idempotency-Key",
        "Idempotent-Replayed",
        "next_cursor",
        "application/problem+json",
        "from standardwebhooks.webhooks import Webhook",
        "Authorization: Bearer",
        'id="schema-AnswerIn"',
        'id="schema-Problem"',
        "debts[2].capital_ore",
    ):
        assert words in html, words
    assert 'id="schema-InquiryQuery"' not in html  # parameters are shown as parameters
    partial = world.client.get(f"{V1}/reference", headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.text  # the partial
    assert 'class="api-reference"' in partial.text and 'id="schema-AnswerIn"' in partial.text


def test_the_portal_links_to_the_reference(world, factories, make_app):
    agent = factories.user(world.bank, Role.CREDITOR_AGENT)
    client = make_app("creditor").test_client()
    login_staff(client, agent)
    inbox = client.get("/").get_data(as_text=True)
    assert 'href="/creditor/api/v1/reference"' in inbox
    page = client.get(f"{V1}/reference")
    assert page.status_code == 200 and 'href="/creditor/api/v1/openapi.json"' in page.get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    "query",
    [
        {"sent_from": "0001-01-01"},
        {"sent_to": "9999-12-31"},
        {"sent_from": "9999-12-31", "sent_to": "0001-01-01"},
    ],
)
def test_dates_at_the_ends_of_the_calendar_are_open_ends_not_500(world, query):
    r = get(world, "/inquiries", query_string=query)
    assert r.status_code == 200
    expected = 0 if len(query) == 2 else 1
    assert len(r.json["data"]) == expected


def test_no_table_holds_the_customers_data_in_clear_text(world, db, receiver):
    """After an inquiry went out as a webhook, was answered yes through the API with an
    Idempotency-Key, and the fullmakt was sent to the bank's system, the personnummer,
    name, debt texts and fullmakt text are nowhere in the database in clear text:
    deliveries, idempotency records, debts, outbox, audit log and all."""
    from sqlalchemy import inspect, text

    receiver.status = 204
    webhook_endpoints.add_endpoint(db, world.admin, receiver.url)
    inquiry = send(db, world.anna, OTHERS[0], world.entry)
    [created] = db.scalars(select(WebhookDelivery)).all()
    assert attempt_webhook(created.id) == "succeeded"  # the worker's part
    db.commit()
    answer = {
        "answer": "yes",
        "send_fullmakt": True,
        "debts": [
            {
                "kind": "loan",
                "capital_ore": 1_000_000,
                "reference": "REF-HEMLIG-4711",
                "note": "Anteckning om kunden",
                "kfm_case": "KFM-HEMLIGT",
            }
        ],
    }
    assert post(world, answer_path(inquiry), answer, key="k-1").status_code == 200
    db.expire_all()
    person = inquiry.case.person
    secrets_ = [
        person.personnummer,
        f"{person.personnummer[:8]}-{person.personnummer[8:]}",
        person.name,
        "REF-HEMLIG-4711",
        "Anteckning om kunden",
        "KFM-HEMLIGT",
        "k@example.se",
    ]
    assert len(receiver.received) == 2  # inquiry.created and fullmakt.sent went out
    tables = inspect(db.get_bind()).get_table_names()
    assert {"webhook_deliveries", "idempotency_records", "debts"} <= set(tables)
    for table in tables:
        raw = repr(db.execute(text(f"SELECT * FROM {table}")).all())  # noqa: S608
        for secret in secrets_:
            assert secret not in raw, (table, secret)


def test_listing_inquiries_runs_the_same_queries_for_one_or_many(world, db, count_queries):
    # The page's cases, people, fullmakter, municipalities and debts are loaded in one
    # query each, not one per inquiry.
    def queries_for_list(at) -> int:
        db.expire_all()
        before = count_queries.n
        with clock.frozen(at):  # a later poll: the key's last use is written each time
            r = get(world, "/inquiries", query_string={"limit": 100})
        assert r.status_code == 200
        return count_queries.n - before, len(r.json["data"])

    one, n = queries_for_list(clock.at("2026-12-01 09:00"))
    assert n == 1
    for pnr in OTHERS[:4]:
        send(db, world.anna, pnr, world.entry)
    many, n = queries_for_list(clock.at("2026-12-01 09:05"))
    assert n == 5 and many == one, (one, many)


def test_each_api_key_has_its_own_rate_limit(world, make_app):
    """One creditor's runaway system is limited by its key; another key (another
    creditor) goes on, and the 429 is problem+json with Retry-After."""
    app = make_app(
        "creditor",
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        API_RATE_LIMIT="3 per minute",
    )
    client = app.test_client()
    mine = [client.get(V1 + "/inquiries", headers=world.auth) for _ in range(4)]
    assert [r.status_code for r in mine] == [200, 200, 200, 429]
    assert mine[-1].mimetype == PROBLEM and "Retry-After" in mine[-1].headers
    assert client.get(V1 + "/inquiries", headers=world.theirs).status_code == 200
