"""Kreditbanken's own system, as a reference for a creditor connected to Skuldkoll's API.

A small separate WSGI app that speaks to Skuldkoll over HTTP only: it receives signed
webhooks (Standard Webhooks) at ``POST /webhooks``, answers each customer inquiry
through the creditor API from its own ledger, and shows its customers, debts, the
fullmakter it was sent and the events it received at ``/``.

    python -m examples.creditor_system            (reads instance/creditor_system.json)

``make demo`` starts it beside the portals on PORT+1. See README.md here.
"""

from __future__ import annotations

import threading
from pathlib import Path

from flask import Flask, jsonify, render_template, request
from werkzeug.serving import BaseWSGIServer, make_server

from examples.creditor_system import config as configmod
from examples.creditor_system.system import CreditorSystem

HERE = Path(__file__).resolve().parent
MAX_BODY = 1024 * 1024  # a webhook is a few kB
KIND_LABELS = {
    "loan": "lån",
    "card": "kort",
    "rent": "hyra",
    "utility": "el/tele",
    "tax": "skatt",
    "csn": "CSN",
    "other": "övrigt",
}
STATUS_LABELS = {
    "undisputed": "obestridd",
    "disputed": "bestridd",
    "at_kfm": "hos Kronofogden",
    "plan": "i avbetalningsplan",
}
FULLMAKT_LABELS = {
    "active": "gäller",
    "revoked": "återkallad",
    "expired": "har gått ut",
    "deleted": "raderad",
    "pending": "ej signerad",
}
REASONS = {
    "revoked_by_principal": "återkallad av fullmaktsgivaren",
    "expired": "giltighetstiden gick ut",
    "retention_ended": "bevarandetiden gick ut",
    "unsigned_after_30_days": "inte signerad inom 30 dagar",
}
CSP = "default-src 'none'; style-src 'self'; frame-ancestors 'none'"


def create_app(
    config: configmod.Config | None = None, *, system: CreditorSystem | None = None
) -> Flask:
    app = Flask(
        __name__, template_folder=str(HERE / "templates"), static_folder=str(HERE / "static")
    )
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    system = system or CreditorSystem(config or configmod.load())
    app.extensions["creditor_system"] = system

    @app.post("/webhooks")
    def webhooks():
        reply = system.receive(request.get_data(cache=False), request.headers)
        return jsonify(reply.body), reply.status

    @app.get("/")
    def index():
        data = system.ledger.snapshot()
        fullmakter: dict[str, list[dict]] = {}
        for entry in data["fullmakter"].values():
            fullmakter.setdefault(entry.get("personal_number") or "", []).append(entry)
        return render_template(
            "creditor_system/index.html",
            customers=data["customers"],
            fullmakter=fullmakter,
            events=data["events"],
            api_base=system.config.api_base,
            kinds=KIND_LABELS,
            statuses=STATUS_LABELS,
            fullmakt_statuses=FULLMAKT_LABELS,
            reasons=REASONS,
        )

    @app.get("/healthz")
    def healthz():
        return {"ok": True}

    @app.template_filter("kr")
    def kronor(ore: int | None) -> str:
        ore = ore or 0
        whole = f"{ore // 100:,}".replace(",", "\u00a0")
        return f"{whole},{ore % 100:02d}\u00a0kr"

    @app.template_filter("pnr")
    def personnummer(digits: str) -> str:
        return f"{digits[:8]}-{digits[8:]}" if len(digits) == 12 else digits

    @app.after_request
    def headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app


def serve(
    app: Flask, host: str = "127.0.0.1", port: int = configmod.DEFAULT_PORT
) -> BaseWSGIServer:
    """Serve the app in a daemon thread (the demo beside the portals, the tests); call
    ``shutdown()`` on the returned server to stop it."""
    server = make_server(host, port, app, threaded=True)
    threading.Thread(target=server.serve_forever, name="creditor-system", daemon=True).start()
    return server
