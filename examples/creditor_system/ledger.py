"""The creditor's own ledger: customers by personnummer with their debts, the fullmakter
Skuldkoll has told it about, the events it received, the webhook-ids it has seen and,
per fullmakt, the sequence number of the last event applied to it.

One JSON file, written whole (to a temporary file, then renamed) after every change, so
a crash never leaves half a file. One process owns it; a lock orders its threads.
Amounts are integer öre, as in the API.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

KEEP_SEEN = timedelta(days=7)  # longer than Skuldkoll retries a delivery (24 h)
KEEP_EVENTS = 500

# Kreditbanken's customers among the demo's test persons (shared/integrations/data/
# test_persons.json). Maria Svensson is the person of the demo journey; Erik Andersson
# the README's example; Bengt Olsson has paid everything back (a customer, no debts).
SEED: dict[str, dict[str, Any]] = {
    "196211306920": {
        "name": "Maria Svensson",
        "debts": [
            {
                "reference": "KB-PL-100231",
                "kind": "loan",
                "status": "undisputed",
                "capital_ore": 5_600_000,
                "interest_ore": 280_000,
                "fees_ore": 120_000,
                "interest_rate_bp": 895,
            },
        ],
    },
    "198403122719": {
        "name": "Erik Andersson",
        "debts": [
            {
                "reference": "KB-PL-204417",
                "kind": "loan",
                "status": "undisputed",
                "capital_ore": 8_500_000,
                "interest_ore": 412_000,
                "fees_ore": 0,
                "interest_rate_bp": 1190,
            },
            {
                "reference": "KB-KK-5521-0934",
                "kind": "card",
                "status": "plan",
                "capital_ore": 1_850_000,
                "interest_ore": 96_500,
                "fees_ore": 30_000,
                "interest_rate_bp": 1990,
            },
            {
                "reference": "KB-BL-1188",
                "kind": "loan",
                "status": "undisputed",
                "capital_ore": 0,
                "interest_ore": 0,
                "fees_ore": 0,
                "interest_rate_bp": 590,
                "closed": True,
            },
        ],
    },
    "197806036211": {
        "name": "Johan Persson",
        "debts": [
            {
                "reference": "KB-KK-7731-2210",
                "kind": "card",
                "status": "undisputed",
                "capital_ore": 2_340_000,
                "interest_ore": 154_000,
                "fees_ore": 60_000,
                "interest_rate_bp": 2240,
            },
        ],
    },
    "194804177659": {
        "name": "Bengt Olsson",
        "debts": [
            {
                "reference": "KB-PL-090112",
                "kind": "loan",
                "status": "undisputed",
                "capital_ore": 0,
                "interest_ore": 0,
                "fees_ore": 0,
                "interest_rate_bp": 650,
                "closed": True,
            },
        ],
    },
}

ANSWER_FIELDS = (
    "reference",
    "kind",
    "status",
    "capital_ore",
    "interest_ore",
    "fees_ore",
    "interest_rate_bp",
)


def now() -> datetime:
    return datetime.now(UTC)


def digits(personal_number: str | None) -> str:
    return "".join(c for c in personal_number or "" if c.isdigit())


class Ledger:
    def __init__(self, path: Path, seed: dict[str, dict[str, Any]] | None = None):
        self.path = Path(path)
        self._lock = threading.RLock()
        if self.path.exists():
            self._data = json.loads(self.path.read_text(encoding="utf-8"))
        else:
            self._data = {
                "customers": copy.deepcopy(SEED if seed is None else seed),
                "fullmakter": {},
                "events": [],
                "seen": {},
                "sequences": {},
            }
            self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".ledger-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(self._data, f, ensure_ascii=False, indent=1)
        os.replace(tmp, self.path)

    # -- customers ------------------------------------------------------------------

    def customer(self, personal_number: str | None) -> dict[str, Any] | None:
        with self._lock:
            found = self._data["customers"].get(digits(personal_number))
            return copy.deepcopy(found)

    def open_debts(self, personal_number: str | None) -> list[dict[str, Any]]:
        """The customer's debts that are still owed, as the API's answer wants them."""
        customer = self.customer(personal_number) or {"debts": []}
        return [
            {k: d[k] for k in ANSWER_FIELDS if d.get(k) is not None}
            for d in customer["debts"]
            if not d.get("closed")
        ]

    # -- webhook-ids and events -----------------------------------------------------------

    def accept(self, webhook_id: str, entry: dict[str, Any]) -> bool:
        """Remember a verified message and log ``entry`` for it; False when its
        webhook-id was seen already (a retry or a redelivery of something handled), so
        it is not acted on twice."""
        with self._lock:
            at = now()
            seen = self._data["seen"]
            if webhook_id in seen:
                return False
            cutoff = at - KEEP_SEEN
            self._data["seen"] = {
                k: v for k, v in seen.items() if datetime.fromisoformat(v) > cutoff
            }
            self._data["seen"][webhook_id] = at.isoformat()
            self._data["events"].insert(
                0,
                {"webhook_id": webhook_id, "received_at": at.isoformat(), "outcome": None, **entry},
            )
            del self._data["events"][KEEP_EVENTS:]
            self._save()
            return True

    def forget(self, webhook_id: str) -> None:
        """Handling failed for good: a redelivery of the message will be acted on."""
        with self._lock:
            self._data["seen"].pop(webhook_id, None)
            self._save()

    def outcome(self, webhook_id: str, text: str) -> None:
        with self._lock:
            for entry in self._data["events"]:
                if entry["webhook_id"] == webhook_id:
                    entry["outcome"] = text
                    break
            self._save()

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._data["events"])

    # -- fullmakter -----------------------------------------------------------------------

    def fullmakt(self, fullmakt_id: str) -> dict[str, Any] | None:
        with self._lock:
            return copy.deepcopy(self._data["fullmakter"].get(fullmakt_id))

    def last_sequence(self, fullmakt_id: str) -> int | None:
        """The sequence number of the fullmakt's last event applied here (None: none)."""
        with self._lock:
            return self._data.get("sequences", {}).get(fullmakt_id)

    @contextmanager
    def in_order(self, fullmakt_id: str, sequence: int | None) -> Iterator[bool]:
        """Apply a fullmakt's event only if it is newer than the last one applied:
        yields False for one whose ``sequence`` is not (it arrived late: a retry got
        it past a later one), True otherwise, and after the block (which applies it)
        records its number. Held under the lock, so two events handled at once apply
        in their order. An event without a number (an older Skuldkoll) is applied."""
        with self._lock:
            sequences = self._data.setdefault("sequences", {})
            last = sequences.get(fullmakt_id)
            if sequence is not None and last is not None and sequence <= last:
                yield False
                return
            yield True
            if sequence is not None:
                sequences[fullmakt_id] = sequence
                self._save()

    def note_fullmakt(self, fullmakt_id: str, **fields: Any) -> dict[str, Any]:
        """Record what is known of a fullmakt (None values leave a field as it was)."""
        with self._lock:
            entry = self._data["fullmakter"].setdefault(fullmakt_id, {"id": fullmakt_id})
            entry.update({k: v for k, v in fields.items() if v is not None})
            entry["updated_at"] = now().isoformat()
            self._save()
            return copy.deepcopy(entry)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._data)
