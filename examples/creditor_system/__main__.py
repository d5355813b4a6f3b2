"""``python -m examples.creditor_system [--config FILE] [--port N]``: the reference
creditor system on its own."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from werkzeug.serving import run_simple

from examples.creditor_system import config as configmod
from examples.creditor_system import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="JSON config (default: $CREDITOR_SYSTEM_CONFIG or $INSTANCE_DIR/creditor_system.json)",
    )
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = configmod.load(args.config)
    port = args.port or config.port
    print(f"Kreditbankens system: http://127.0.0.1:{port}/  (webhooks: /webhooks)")
    run_simple("127.0.0.1", port, create_app(config), threaded=True)


if __name__ == "__main__":
    main()
