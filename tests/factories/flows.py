"""Steps many tests share, through the real services: register a client, sign the
fullmakt, put a creditor in the directory, send and deliver an inquiry; and a creditor's
system on 127.0.0.1 that receives webhooks."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy.orm import Session

from shared.core import clock
from shared.counselling import cases, events, inquiries
from shared.counselling import fullmakt as fullmakt_service
from shared.counselling.models import Case, Inquiry
from shared.creditor_link import delivery
from shared.identity.models import BankIdOrder, Channel, Creditor, Organisation, User
from shared.integrations.population import LocalTestRegister

from .models import CreditorFactory, bound_to

# Test persons of the population register (shared/integrations/data/test_persons.json).
ERIK = "198403122719"
OTHERS = ["199105273420", "196708094153", "195502214868", "200109145581", "197806036211"]


def register(
    db: Session, counsellor: User, pnr: str = ERIK, email: str = "erik@example.se"
) -> cases.Registration:
    """The counsellor registers the client (a pending case and fullmakt, the e-mail)."""
    return cases.register_client(
        db,
        counsellor,
        personnummer=pnr,
        email=email,
        register=LocalTestRegister(),
        today=clock.today(),
    )


def sign(db: Session, case: Case) -> BankIdOrder:
    """Complete a sign order as the client (the BankID part is tested elsewhere)."""
    order = BankIdOrder(
        portal="client",
        kind="sign",
        order_ref=f"ref-{case.id}",
        auto_start_token="a",
        qr_start_token="q",
        qr_start_secret="s",
        session_binding="b",
        started_at=clock.wall_now(),
        status="complete",
        person_id=case.person_id,
        purpose={"type": "fullmakt", "fullmakt_id": str(case.fullmakt.id)},
    )
    db.add(order)
    db.flush()
    fullmakt_service.complete_signing(db, case.fullmakt, order, today=clock.today())
    # Its fullmakt.signed is fanned out by the worker after the commit, which tells no
    # one (nothing subscribes before an inquiry's yes): as if it had run, it holds back
    # none of the fullmakt's later events (a test runs the jobs it wants to see).
    events.forget(db, [case.fullmakt.id])
    return order


def directory_entry(db: Session, org: Organisation, channel: Channel = Channel.WEB) -> Creditor:
    """The organisation's entry in the creditor directory (answers by ``channel``)."""
    with bound_to(db):
        return CreditorFactory(organisation=org, channel=channel, email="svar@example.se")


def send(db: Session, counsellor: User, pnr: str, creditor: Creditor) -> Inquiry:
    """Register and sign a client, send one inquiry to ``creditor`` and deliver it."""
    case = register(db, counsellor, pnr=pnr, email="k@example.se").case
    sign(db, case)
    [inquiry] = inquiries.send_inquiries(db, counsellor, case, [creditor.id])
    db.commit()
    assert delivery.deliver(db, inquiry.id) == "delivered"
    db.commit()
    return inquiry


class Receiver:
    """A creditor's system on 127.0.0.1 that answers webhooks with ``status``."""

    def __init__(self):
        self.status = 503
        self.received: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
