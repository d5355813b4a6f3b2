"""One WSGI application: the landing page at / and the four portals under their
prefixes (each also runnable alone), plus the BankID simulator and the SPAR stand-in in
demo mode. The demo
server also runs Kreditbanken's own system (examples/creditor_system) on PORT+1.

    gunicorn wsgi:application          (production)
    python wsgi.py                     (embedded demo, threaded dev server)
"""

from __future__ import annotations

import os

from werkzeug.middleware.dispatcher import DispatcherMiddleware

from portals import client, counsellor, creditor, debtor, operator
from shared.core.config import load
from shared.web.landing import create_landing


def create_application(settings=None):
    settings = settings or load()
    overrides = {"SETTINGS": settings}
    mounts = {
        "/counsellor": counsellor.create_app(overrides),
        "/client": client.create_app(overrides),
        "/creditor": creditor.create_app(overrides),
        "/debtor": debtor.create_app(overrides),
        "/operator": operator.create_app(overrides),
    }
    if settings.bankid_simulated and settings.env != "production":
        from simulators.bankid import create_app as create_bankid_simulator

        mounts["/bankid-sim"] = create_bankid_simulator()
    if settings.env != "production":
        # SPAR PersonSök stand-in: SPAR_URL=http://127.0.0.1:PORT/spar-sim/personsok runs
        # the real adapter against it (without SPAR_URL the demo reads the test persons)
        from simulators.spar import create_app as create_spar_standin

        mounts["/spar-sim"] = create_spar_standin()
    return DispatcherMiddleware(create_landing(overrides), mounts)


application = create_application()


def start_creditor_system(settings):
    """Kreditbanken's own system answers its inquiries through the API, on PORT+1 beside
    the portals, with the key and webhook secret ``skuldkoll demo-data`` wrote into its
    config file. A separate app: it speaks to Skuldkoll over HTTP only."""
    from examples.creditor_system import config, create_app, serve

    try:
        cfg = config.load(settings.instance_dir / config.DEFAULT_FILE)
        server = serve(create_app(cfg), port=cfg.port)
    except Exception as exc:  # noqa: BLE001 - the portals run without it
        print(f"Kreditbankens system startades inte ({exc}); kör `make demo-data`.")
        return None
    print(f"Kreditbankens system: http://127.0.0.1:{cfg.port}/  (svarar på förfrågningar)")
    return server


def main() -> None:
    from werkzeug.serving import run_simple

    from worker import inline

    settings = load()
    inline.start()  # the demo's in-process stand-in for `rq cron`
    reloader_parent = (
        os.environ.get("RELOAD") == "1" and os.environ.get("WERKZEUG_RUN_MAIN") != "true"
    )
    if settings.demo and not reloader_parent:
        start_creditor_system(settings)
    print(f"Skuldkoll: http://127.0.0.1:{settings.port}/  (Ctrl-C stops)")
    run_simple(
        "127.0.0.1",
        settings.port,
        application,
        threaded=True,
        use_reloader=os.environ.get("RELOAD") == "1",
    )


if __name__ == "__main__":
    main()
