"""One WSGI application: the landing page at / and the four portals under their
prefixes (each also runnable alone), plus the BankID simulator in demo mode.

    gunicorn wsgi:application          (production)
    python wsgi.py                     (embedded demo, threaded dev server)
"""

from __future__ import annotations

import os

from werkzeug.middleware.dispatcher import DispatcherMiddleware

from portals import client, counsellor, creditor, debtor
from shared.config import load
from shared.web.landing import create_landing


def create_application(settings=None):
    settings = settings or load()
    overrides = {"SETTINGS": settings}
    mounts = {
        "/counsellor": counsellor.create_app(overrides),
        "/client": client.create_app(overrides),
        "/creditor": creditor.create_app(overrides),
        "/debtor": debtor.create_app(overrides),
    }
    if settings.bankid_simulated and settings.env != "production":
        from simulators.bankid import create_app as create_bankid_simulator

        mounts["/bankid-sim"] = create_bankid_simulator()
    return DispatcherMiddleware(create_landing(overrides), mounts)


application = create_application()


def main() -> None:
    from werkzeug.serving import run_simple

    from worker import inline

    settings = load()
    inline.start()  # the demo's in-process stand-in for `rq cron`
    print(f"Skuldkoll: http://127.0.0.1:{settings.port}/  (Ctrl-C stops)")
    run_simple("127.0.0.1", settings.port, application, threaded=True,
               use_reloader=os.environ.get("RELOAD") == "1")


if __name__ == "__main__":
    main()
