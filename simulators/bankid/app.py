"""A local stand-in for BankID's servers and for the BankID app on the tester's device.

* ``/rp/v6.0/{auth,sign,collect,cancel}``: the Relying Party API with the same request
  and response fields, status codes and ``{errorCode, details}`` bodies as BankID's.
  JSON only, no CSRF, no cookies (the real one authenticates the RP with mutual TLS).
* ``/app``: the "test BankID app". It opens an order from its autostart link
  (``/app?autostarttoken=T``) or from a pasted QR payload, lets the tester choose a
  test person from ``shared/integrations/data/test_persons.json`` and approve
  ("Legitimera" / "Skriv under") or cancel ("Avbryt").

Not a portal: no login, no database. In demo mode ``wsgi.py`` mounts it at
``/bankid-sim``; never in production (``Settings.check`` requires a real BANKID_URL).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, abort, jsonify, redirect, render_template, request, url_for
from stdnum import luhn

from shared.core import clock as shared_clock
from shared.integrations.test_persons import TestPerson, load_test_persons
from simulators.bankid.orders import Order, OrderStore, QrRejected, decode_b64_text
from simulators.bankid.signature import SimulatorPki

API = "/rp/v6.0"
MAX_DATA_CHARS = 1500  # userVisibleData / userNonVisibleData, after base64
DATA_FORMATS = ("simpleMarkdownV1", "plaintext")
CSP = (
    "default-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
ERROR_STATUS = {
    "invalidParameters": 400,
    "alreadyInProgress": 400,
    "unauthorized": 401,
    "notFound": 404,
    "methodNotAllowed": 405,
    "requestTimeout": 408,
    "unsupportedMediaType": 415,
    "internalError": 500,
    "maintenance": 503,
}
HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _error(code: str, details: str):
    return jsonify({"errorCode": code, "details": details}), ERROR_STATUS[code]


def _valid_ip(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _valid_personal_number(value: Any) -> bool:
    return (
        isinstance(value, str) and len(value) == 12 and value.isdigit() and luhn.is_valid(value[2:])
    )


def _valid_requirement(req: Any) -> bool:
    if not isinstance(req, dict):
        return False
    checks = {
        "personalNumber": _valid_personal_number,
        "pinCode": lambda v: isinstance(v, bool),
        "mrtd": lambda v: isinstance(v, bool),
        "cardReader": lambda v: v in ("class1", "class2"),
        "certificatePolicies": lambda v: isinstance(v, list) and all(isinstance(p, str) for p in v),
    }
    return all(checks.get(key, lambda v: False)(value) for key, value in req.items())


def _valid_data(value: Any) -> bool:
    return decode_b64_text(value) is not None and len(value) <= MAX_DATA_CHARS


def _issue_date(personnummer: str, today: datetime) -> str:
    # Stable per person, so repeated logins show the same BankID.
    days = 30 + int(hashlib.sha256(personnummer.encode()).hexdigest(), 16) % 1500
    return (today - timedelta(days=days)).date().isoformat()


def create_app(
    *, order_ttl_seconds: int = 180, clock: Callable[[], datetime] | None = None
) -> Flask:
    """The simulator. ``clock`` returns an aware datetime (wall time by default; tests pass
    a fake one to watch orders expire)."""
    app = Flask(__name__)  # no sessions, no cookies: the capability URLs carry the state
    now = clock or (lambda: shared_clock.wall_now())
    store = OrderStore(ttl=timedelta(seconds=order_ttl_seconds), clock=now)
    pki = SimulatorPki(now())
    uhi_salt = secrets.token_bytes(16)
    app.extensions["bankid_simulator"] = {"store": store, "pki": pki}

    @app.after_request
    def headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    # -- the RP API -------------------------------------------------------------------

    def start(kind: str, body: dict[str, Any]):
        if not _valid_ip(body.get("endUserIp")):
            return _error("invalidParameters", "Incorrect endUserIp")
        requirement = body.get("requirement", {})
        if not _valid_requirement(requirement):
            return _error("invalidParameters", "Incorrect requirement")
        uvd, unvd = body.get("userVisibleData"), body.get("userNonVisibleData")
        if kind == "sign" and uvd is None:
            return _error("invalidParameters", "Missing userVisibleData")
        if uvd is not None and not _valid_data(uvd):
            return _error("invalidParameters", "Invalid userVisibleData")
        if unvd is not None and not _valid_data(unvd):
            return _error("invalidParameters", "Invalid userNonVisibleData")
        data_format = body.get("userVisibleDataFormat")
        if data_format is not None and data_format not in DATA_FORMATS:
            return _error("invalidParameters", "Invalid userVisibleDataFormat")
        return_url = body.get("returnUrl")
        if return_url is not None and not (isinstance(return_url, str) and return_url):
            return _error("invalidParameters", "Invalid returnUrl")
        return_risk = body.get("returnRisk", False)
        if not isinstance(return_risk, bool):
            return _error("invalidParameters", "Invalid returnRisk")
        order = store.create(
            kind=kind,
            end_user_ip=body["endUserIp"],
            requirement=requirement,
            user_visible_data=uvd,
            user_non_visible_data=unvd,
            data_format=data_format if uvd is not None else None,
            return_url=return_url,
            return_risk=return_risk,
        )
        if order is None:
            return _error("alreadyInProgress", "Order already in progress for pno")
        return jsonify(
            {
                "orderRef": order.order_ref,
                "autoStartToken": order.auto_start_token,
                "qrStartToken": order.qr_start_token,
                "qrStartSecret": order.qr_start_secret,
            }
        )

    def collect(body: dict[str, Any]):
        ref = body.get("orderRef")
        if not isinstance(ref, str) or not ref:
            return _error("invalidParameters", "Missing orderRef")
        order = store.get(ref)
        if order is None:
            # BankID answers invalidParameters (not notFound, which means a wrong URL)
            # for an unknown, cancelled or no longer collectable order.
            return _error("invalidParameters", "No such order")
        answer: dict[str, Any] = {"orderRef": order.order_ref, "status": order.status}
        if order.status == "complete":
            answer["completionData"] = order.completion_data
        else:
            answer["hintCode"] = order.hint_code
        return jsonify(answer)

    def cancel(body: dict[str, Any]):
        ref = body.get("orderRef")
        if not isinstance(ref, str) or not ref:
            return _error("invalidParameters", "Missing orderRef")
        if not store.remove(ref):
            return _error("invalidParameters", "No such order")
        return jsonify({})

    handlers: dict[str, Callable] = {
        "auth": lambda body: start("auth", body),
        "sign": lambda body: start("sign", body),
        "collect": collect,
        "cancel": cancel,
    }

    @app.route(f"{API}/<path:endpoint>", methods=HTTP_METHODS, provide_automatic_options=False)
    def rp_api(endpoint: str):
        handler = handlers.get(endpoint)
        if handler is None:
            return _error("notFound", "An invalid URL path was used.")
        if request.method != "POST":
            return _error("methodNotAllowed", "Only HTTP method POST is allowed.")
        if request.mimetype != "application/json":
            return _error("unsupportedMediaType", "The type is missing or invalid.")
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return _error("invalidParameters", "Invalid JSON in request body")
        return handler(body)

    # -- the test app -------------------------------------------------------------------

    def candidates(order: Order) -> list[TestPerson]:
        persons = list(load_test_persons())
        if order.personal_number:
            persons = [p for p in persons if p.personnummer == order.personal_number]
        return persons

    def app_page(error: str | None = None, status: int = 200):
        return render_template(
            "bankid_sim/app.html",
            orders=store.pending(),
            error=error,
            stockholm=shared_clock.STOCKHOLM,
        ), status

    @app.get("/")
    def index():
        return redirect(url_for("test_app"))

    @app.get("/app")
    def test_app():
        token = request.args.get("autostarttoken")
        if token is None:
            return app_page()
        app_session = store.open_by_autostart(token)
        if app_session is None:
            return app_page(
                "Det finns ingen pågående beställning för den här länken. "
                "Den kan ha avbrutits eller gått ut.",
                404,
            )
        return redirect(url_for("order_page", app_session=app_session), 303)

    @app.post("/app/qr")
    def open_qr():
        try:
            app_session = store.open_by_qr(request.form.get("qr", ""))
        except QrRejected as exc:
            return app_page(str(exc), 422)
        return redirect(url_for("order_page", app_session=app_session), 303)

    def order_or_404(app_session: str) -> Order:
        order = store.by_session(app_session)
        if order is None:
            abort(404)
        return order

    def confirm_page(order: Order, app_session: str, error: str | None = None, status: int = 200):
        return render_template(
            "bankid_sim/order.html",
            order=order,
            app_session=app_session,
            persons=candidates(order),
            text=order.visible_text,
            error=error,
            stockholm=shared_clock.STOCKHOLM,
        ), status

    @app.get("/app/s/<app_session>")
    def order_page(app_session: str):
        order = order_or_404(app_session)
        if order.status == "pending":
            store.show_confirm(order)
        return confirm_page(order, app_session)

    @app.post("/app/s/<app_session>")
    def answer(app_session: str):
        order = order_or_404(app_session)
        if order.status != "pending":  # ended meanwhile (expired, cancelled): show that
            return redirect(url_for("order_page", app_session=app_session), 303)
        if request.form.get("action") == "cancel":
            store.user_cancel(order)
            return redirect(url_for("order_page", app_session=app_session), 303)
        chosen = request.form.get("personnummer", "")
        person = next((p for p in candidates(order) if p.personnummer == chosen), None)
        if person is None:
            return confirm_page(order, app_session, "Välj en av testpersonerna.", 422)
        at = now()
        user = {
            "personalNumber": person.personnummer,
            "name": person.name,
            "givenName": person.given_name,
            "surname": person.surname,
        }
        ip = request.remote_addr or "127.0.0.1"
        uhi_source = uhi_salt + ip.encode() + request.user_agent.string.encode()
        device = {
            "ipAddress": ip,
            "uhi": base64.urlsafe_b64encode(hashlib.sha256(uhi_source).digest())
            .decode()
            .rstrip("=")[:27],
        }
        evidence = pki.evidence(
            kind=order.kind,
            user=user,
            device=device,
            now=at,
            user_visible_data=order.user_visible_data,
            user_non_visible_data=order.user_non_visible_data,
            data_format=order.data_format,
        )
        completion = {
            "user": user,
            "device": device,
            "bankIdIssueDate": _issue_date(person.personnummer, at),
            "stepUp": {"mrtd": False},
            "signature": evidence.signature,
            "ocspResponse": evidence.ocsp_response,
        }
        if order.return_risk:
            completion["risk"] = "low"
        store.complete(order, completion)
        return redirect(url_for("order_page", app_session=app_session), 303)

    @app.errorhandler(404)
    def not_found(exc):
        if request.path.startswith(API + "/"):
            return _error("notFound", "An invalid URL path was used.")
        return render_template("bankid_sim/missing.html"), 404

    return app
