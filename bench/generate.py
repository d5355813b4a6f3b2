"""Bench data for PostgreSQL: a migrated database filled fast, deterministically, at a
chosen scale.

    .venv/bin/python -m bench.generate \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/NAME \\
        --scale {demo,small,default,large} [--seed N] [--cases N --inquiries N ...]

It creates the database when it is missing (an existing one must be empty, or pass
``--replace``), runs the project's migrations on it (``alembic upgrade head``: the real
schema with its constraints and row-level security policies), fills the tables with
``COPY`` in dependency order and runs ``ANALYZE``. Personal data is encrypted as the app
encrypts it: through ``shared.security.crypto.Keyring`` under the ``MASTER_KEYS`` and
``BLIND_INDEX_KEY`` of the environment (``shared.core.config``; the demo keys when
unset), each person and each case's data under a data key of its own
(wrapped into the key store of ``KEY_STORE_URL`` and registered in ``data_keys``, as
``shared.core.db.create_data_key`` does; put into the store before the commit), with the column's
purpose (``"cases.email"``) as associated data. So the app served with the same
environment reads the data.

Every scale holds the known accounts of ``bench/accounts.py`` (staff with ``PASSWORD``
and ``TOTP_SECRET``, creditor 0's ``API_KEY``, clients 0..49 with an active case and a
fullmakt valid on 2026-12-01 and around today). The rest of the timeline lies in the year
before 2026-12-01. The same seed gives the same rows: every value comes from
``random.Random``, one per writer, seeded with the seed and the writer's name; only the
encryption nonces, the data keys' material and the password hash's salt differ.

Fast: the rows are made in Python and streamed with binary ``COPY`` in one transaction;
the foreign keys and plain indexes are dropped for the load and created again before the
commit, so each is checked or built once over all rows (``Deferred``; a failed run rolls
back to the migrated schema; ``--keep-constraints`` loads with them in place). About
three minutes for ``default`` on the 2-core machine; ``--dry-run`` makes the rows
without a database (the generator's own share).

Writers: one function per group of tables, registered in dependency order with
``@writer(...)``; each streams its rows through ``Load.copy`` and leaves what later
writers need on the shared ``World``. The collection tables (``shared/collection``) get
their own writer when they come: a function decorated ``@writer("collection")`` placed
after the writers whose rows it refers to (``clients`` for persons and cases,
``directory`` for the creditor organisations). A table that no writer fills is named at
the end of every run.

Left empty on purpose: ``outbox`` (every job is done), ``bankid_orders`` (short-lived
sign-in and signing orders), ``idempotency_records`` (they expire after a day),
``sign_in_throttles`` (failed sign-ins, forgotten after a day), ``email_messages`` (the
dev outbox) and ``heartbeats`` (when the running worker's periodic jobs last ran: at most
three rows, none of them scale; a beat written here would be stale when the pages are
measured and make ``/healthz`` answer 503, which ``bench/pages.py`` waits on, while no
beat at all is "unknown") and ``unsent_fullmakt_events`` (an event's row lives only until
its fan-out job has run). Webhook deliveries are written for creditor 0's
events (inquiries, fullmakter sent after a yes, revocations), not for the other
endpoints; subscribers without an endpoint get portal notices of revocations.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import random
import sys
import time
import uuid
from bisect import bisect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from types import SimpleNamespace

import psycopg
from alembic import command
from alembic.config import Config
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from psycopg import sql
from sqlalchemy import create_engine, make_url
from stdnum import luhn

from bench import accounts
from shared.core import clock
from shared.core import config as skconfig
from shared.core.dates import period_end
from shared.counselling.fullmakt import fullmakt_text
from shared.counselling.models import Answer, CaseStatus, DebtSource, FullmaktStatus, InquiryStatus
from shared.counselling.rules import budget as budget_rules
from shared.creditor_link.models import DeliveryStatus
from shared.creditor_link.webhooks import envelope
from shared.identity.api_keys import KEY_PREFIX, PREFIX_LENGTH
from shared.identity.models import Channel, OrgKind, Role
from shared.security import audit, crypto, keystore, passwords
from shared.security.models import IN_KEY_STORE

ROOT = Path(__file__).resolve().parents[1]

# The bench's "now": the timeline ends here (the suite's day; the bench pages compare
# against it). Clients' fullmakter also hold around the real today (clock.today()).
ANCHOR = clock.at("2026-12-01 00:00").astimezone(UTC)
ANCHOR_DAY = date(2026, 12, 1)
YEAR = 365 * 86400.0

# Municipality settings as the app's defaults (Organisation).
FULLMAKT_MONTHS, REMINDER_DAYS, OVERDUE_DAYS = 12, 7, 14
RETENTION_DAYS = 30  # an ended case is purged after this (shared.counselling.retention)
EXPIRY_NOTICE_DAYS = 30


@dataclass(frozen=True)
class Scale:
    municipalities: int
    counsellors: int
    cases: int  # one person and one signed fullmakt each
    inquiries: int
    creditors: int
    largest_creditor: int  # inquiries to creditor 0, at most one per case

    def check(self) -> None:
        n = accounts.SIGN_IN_USERS
        problems = []
        if self.municipalities < 1:
            problems.append("at least 1 municipality")
        if self.counsellors < n:
            problems.append(f"at least {n} counsellors (the sign-in accounts)")
        if self.cases < n:
            problems.append(f"at least {n} cases (the sign-in clients)")
        if self.creditors < 2:
            problems.append("at least 2 creditors")
        if not n <= self.largest_creditor <= self.cases:
            problems.append(f"the largest creditor's inquiries between {n} and the cases")
        others = self.inquiries - self.largest_creditor
        if not n <= others <= (self.creditors - 1) * self.cases:
            problems.append(
                "inquiries: at least the largest creditor's + 50, at most one per case and creditor"
            )
        if problems:
            raise SystemExit("bench.generate: the scale needs " + "; ".join(problems))


SCALES = {
    # ~the embedded demo's size: what the page benchmarks compare against
    "demo": Scale(2, 50, 150, 600, 20, 150),
    # default / 10 (at least 2 municipalities, and the 50 sign-in counsellors)
    "small": Scale(2, 50, 10_000, 100_000, 30, 10_000),
    "default": Scale(10, 200, 100_000, 1_000_000, 300, 100_000),
    "large": Scale(20, 400, 200_000, 2_000_000, 600, 200_000),
}


# -- names and numbers -------------------------------------------------------------------


def words(text: str, sep: str | None = None) -> tuple[str, ...]:
    return tuple(text.split(sep))


def columns(spec: str) -> tuple[str, ...]:
    """A table's columns, in the order of the rows a writer makes."""
    return tuple(spec.split())


GIVEN = words(
    "Anna Eva Maria Karin Sara Lena Emma Kerstin Ingrid Marie Malin Jenny Annika Hanna "
    "Linda Susanne Elin Sofia Ida Julia Åsa Ylva Amina Fatima Leila Erik Lars Karl Anders "
    "Johan Per Nils Mikael Jan Hans Peter Olof Gunnar Sven Fredrik Daniel Alexander Oskar "
    "Björn Göran Örjan Jonas Ali Mohammed Ahmed Mehmet"
)
SURNAMES = words(
    "Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson Svensson "
    "Gustafsson Pettersson Jonsson Jansson Hansson Bengtsson Jönsson Lindberg Jakobsson "
    "Magnusson Olofsson Lindström Lindqvist Lindgren Axelsson Berg Bergström Lundberg Lind "
    "Lundgren Lundqvist Mattsson Berglund Fredriksson Sandberg Henriksson Forsberg Sjöberg "
    "Wallin Engström Eklund Danielsson Lundin Håkansson Björk Bergman Gunnarsson Holm "
    "Wikström Samuelsson Isaksson Fransson Bergqvist Nyström Holmberg Arvidsson Löfgren "
    "Söderberg Nyberg Blomqvist Claesson Åberg Öberg Hussein Yilmaz"
)
TOWNS = words(
    "Skövde Lerum Borås Uppsala Gävle Kalmar Växjö Umeå Luleå Östersund Falun Karlstad "
    "Örebro Västerås Jönköping Halmstad Kristianstad Sundsvall Norrköping Linköping"
)
STREETS = words(
    "Storgatan,Kyrkogatan,Skolgatan,Järnvägsgatan,Parkvägen,Björkvägen,Ringvägen,"
    "Södra vägen,Norra Allén,Tallvägen,Ekvägen,Industrigatan,Sjövägen,Hantverkargatan",
    ",",
)
CREDITOR_PREFIXES = "Nord Syd Väst Öst Mitt Fjäll Skog Sjö Kust Berg Dal Älv Sol Ljus Fors"
CREDITOR_STEMS = (
    "kredit:loan,card finans:loan,card banken:loan,card lån:loan el:utility "
    "tele:utility energi:utility hyra:rent bostäder:rent handel:card,other "
    "försäkring:other inkasso:* indrivning:*"
)
CREDITOR_FORMS = ("AB", "Sverige AB", "Norden AB", "& Co AB")
DEBT_KINDS = ("loan", "card", "rent", "utility", "tax", "csn", "other")
DEBT_STATUSES = (("undisputed", 70), ("at_kfm", 15), ("plan", 10), ("disputed", 5))  # %
CAPITAL_KR = {
    "loan": (20_000, 300_000),
    "card": (2_000, 60_000),
    "rent": (5_000, 40_000),
    "utility": (500, 8_000),
    "tax": (1_000, 80_000),
    "csn": (10_000, 250_000),
    "other": (1_000, 20_000),
}


def ascii_fold(text: str) -> str:
    return text.lower().translate(str.maketrans("åäöé", "aaoe")).replace(" ", "")


def org_number(body9: str) -> str:
    """An organisationsnummer NNNNNN-NNNN (Luhn over the ten digits)."""
    digits = body9 + luhn.calc_check_digit(body9)
    return f"{digits[:6]}-{digits[6:]}"


def municipality_orgnr(m: int) -> str:
    return org_number(f"212000{100 + m:03d}")


def creditor_orgnr(c: int) -> str:
    return org_number(f"556{100_000 + c:06d}")


def creditor_name(c: int) -> tuple[str, list[str], OrgKind]:
    """Creditor ``c``'s name, the kinds of debt it holds ("*": an agency collecting any)."""
    if c == 0:
        return "Storkredit Sverige AB", ["loan", "card"], OrgKind.CREDITOR
    prefixes = CREDITOR_PREFIXES.split()
    stems = [s.split(":") for s in CREDITOR_STEMS.split()]
    n = c - 1
    prefix = prefixes[n % len(prefixes)]
    stem, kinds = stems[(n // len(prefixes)) % len(stems)]
    tier = n // (len(prefixes) * len(stems))
    form = CREDITOR_FORMS[tier % len(CREDITOR_FORMS)]
    name = f"{prefix}{stem} {form}"
    if tier >= len(CREDITOR_FORMS):
        name = f"{prefix}{stem} {tier} {form}"
    agency = kinds == "*"
    return (
        name,
        (list(DEBT_KINDS) if agency else kinds.split(",")),
        (OrgKind.AGENCY if agency else OrgKind.CREDITOR),
    )


_set_attribute = object.__setattr__
_VERSION_4 = ~(0xF000 << 64) & ~(0xC000 << 48)
_VERSION_4_BITS = (4 << 76) | (0x8000 << 48)


def new_uuid(rng: random.Random) -> uuid.UUID:
    """``uuid.UUID(int=rng.getrandbits(128), version=4)``, without its argument checks
    (millions of ids: this is the generator's commonest call)."""
    value = object.__new__(uuid.UUID)
    _set_attribute(value, "int", (rng.getrandbits(128) & _VERSION_4) | _VERSION_4_BITS)
    _set_attribute(value, "is_safe", uuid.SafeUUID.unknown)
    return value


def at_offset(seconds: float) -> datetime:
    """The instant ``seconds`` before the anchor (UTC, microseconds)."""
    return ANCHOR - timedelta(seconds=seconds)


def stockholm_day(instant: datetime) -> date:
    return instant.astimezone(clock.STOCKHOLM).date()


def iso(instant: datetime) -> str:
    return instant.isoformat()


def client_validity(today: date) -> tuple[date, date]:
    """A client's fullmakt: from a few months before 2026-12-01 (and today), for 12 months;
    if today lies too far from 2026-12-01 for both, around today."""
    start = min(ANCHOR_DAY, today) - timedelta(days=90)
    end = period_end(start, FULLMAKT_MONTHS)
    if end <= max(ANCHOR_DAY, today):
        start = today - timedelta(days=90)
        end = period_end(start, FULLMAKT_MONTHS)
    return start, end


# -- the shared state of a run ----------------------------------------------------------


@dataclass
class Org:
    id: uuid.UUID
    name: str
    orgnr: str
    kind: OrgKind
    created_at: datetime


@dataclass
class CreditorInfo:
    id: uuid.UUID
    org: Org
    name: str
    channel: Channel
    kinds: list[str]
    answer_p: float  # answers at all
    yes_p: float  # a customer relationship
    median_days: float  # how fast it answers
    email: str | None
    admin_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None
    endpoint_id: uuid.UUID | None = None

    @property
    def log_median(self) -> float:
        return math.log(self.median_days * 86400)

    @property
    def channel_value(self) -> str:
        return self.channel.value


@dataclass(slots=True)
class CaseInfo:
    index: int
    id: uuid.UUID
    municipality: int
    counsellor: int
    person_id: uuid.UUID
    pnr: str
    given: str
    surname: str
    key_id: uuid.UUID
    created_at: datetime
    signed_at: datetime
    valid_from: date
    valid_until: date
    fullmakt_id: uuid.UUID
    code: str
    sent_at: datetime  # its (first) inquiries
    ended_at: datetime | None  # revoked by the client

    @property
    def active(self) -> bool:
        return self.ended_at is None

    @property
    def name(self) -> str:
        return f"{self.given} {self.surname}"


@dataclass(slots=True)
class YesAnswer:
    inquiry_id: uuid.UUID
    case: int
    creditor: int
    answered_at: datetime
    actor: tuple[str, str]  # who answered: ("api", key id) or ("user", user id)
    source: DebtSource


@dataclass(slots=True)
class Creditor0Inquiry:
    inquiry_id: uuid.UUID
    case: int
    delivered_at: datetime
    yes_at: datetime | None


@dataclass
class World:
    """What the writers share: the scale, the keys and the rows later writers refer to."""

    scale: Scale
    seed: int
    settings: skconfig.Settings
    keyring: crypto.Keyring
    today: date
    password_hash: str = ""
    system_key: uuid.UUID | None = None
    wrapped: dict[uuid.UUID, crypto.WrappedKey] = field(default_factory=dict)
    municipalities: list[Org] = field(default_factory=list)
    creditors: list[CreditorInfo] = field(default_factory=list)
    counsellors: list[uuid.UUID] = field(default_factory=list)
    counsellor_names: list[str] = field(default_factory=list)
    municipality_admins: list[uuid.UUID] = field(default_factory=list)
    agents: list[uuid.UUID] = field(default_factory=list)  # creditor 0's
    cases: list[CaseInfo] = field(default_factory=list)
    yes_answers: list[YesAnswer] = field(default_factory=list)
    creditor0: list[Creditor0Inquiry] = field(default_factory=list)
    # (subscription row id, case index, creditor index) of the active subscriptions
    subscriptions: list[tuple[uuid.UUID, int, int]] = field(default_factory=list)
    audit_events: list[tuple] = field(default_factory=list)

    def rng(self, name: str) -> random.Random:
        return random.Random(f"{self.seed}:{name}")

    def new_data_key(self, key_id: uuid.UUID) -> crypto.WrappedKey:
        """A data key with this id, wrapped by the current master key; the keyring finds
        it through its loader (``load_keys``) and keeps the unwrapped keys it uses most
        recently."""
        wk = self.keyring.wrap(AESGCM.generate_key(bit_length=256), key_id)
        self.wrapped[key_id] = wk
        return wk

    def load_keys(self, key_ids: Iterable[uuid.UUID]) -> list[crypto.WrappedKey]:
        """The keyring's loader: the wrapped keys made so far (the app's reads them
        from ``data_keys``)."""
        return [self.wrapped[k] for k in key_ids if k in self.wrapped]

    def seal(self, value: str | None, purpose: bytes, key_id: uuid.UUID) -> str | None:
        if value is None:
            return None
        return self.keyring.encrypt(value, purpose, key_id=key_id)


# -- loading ---------------------------------------------------------------------------


@dataclass
class TableStat:
    table: str
    rows: int
    seconds: float


class Load:
    """COPY (binary) into the database in one transaction, with a timing per table."""

    def __init__(self, conn: psycopg.Connection, quiet: bool = False):
        self.conn = conn
        self.stats: list[TableStat] = []
        self.quiet = quiet

    def column_types(self, table: str, columns: list[str]) -> list[int]:
        types = dict(
            self.conn.execute(
                "SELECT attname, atttypid FROM pg_attribute "
                "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                (table,),
            ).fetchall()
        )
        return [types[c] for c in columns]

    def copy(self, table: str, columns: Iterable[str], rows: Iterable[tuple]) -> int:
        """Stream ``rows`` (tuples in the order of ``columns``; JSON columns take the
        object) into ``table``."""
        columns = list(columns)
        statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        types = self.column_types(table, columns)
        start = time.perf_counter()
        n = 0
        with self.conn.cursor() as cur, cur.copy(statement) as copy:
            copy.set_types(types)
            write = copy.write_row
            for row in rows:
                write(row)
                n += 1
        self._record(table, n, time.perf_counter() - start)
        return n

    def _record(self, table: str, n: int, seconds: float) -> None:
        self.stats.append(TableStat(table, n, seconds))
        if not self.quiet:
            rate = n / seconds if seconds else 0
            print(
                f"  {table:24s} {n:>10,d} rows {seconds:8.1f} s {rate:>10,.0f} rows/s", flush=True
            )

    def set_sequence(self, table: str, column: str, value: int) -> None:
        self.conn.execute(
            "SELECT setval(pg_get_serial_sequence(%s, %s), %s)", (table, column, value)
        )

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for stat in self.stats:
            out[stat.table] = out.get(stat.table, 0) + stat.rows
        return out


class DryLoad(Load):
    """Rows made and counted, written nowhere (``--dry-run``: the generator's own cost,
    and the plan of a seed without a database)."""

    def __init__(self, quiet: bool = False):
        self.conn = None
        self.stats = []
        self.quiet = quiet

    def copy(self, table: str, columns: Iterable[str], rows: Iterable[tuple]) -> int:
        start = time.perf_counter()
        width = len(list(columns))
        n = 0
        for row in rows:
            if len(row) != width:
                raise ValueError(f"{table}: a row of {len(row)} values for {width} columns")
            n += 1
        self._record(table, n, time.perf_counter() - start)
        return n

    def set_sequence(self, table: str, column: str, value: int) -> None:
        pass


Writer = Callable[[World, Load], None]
WRITERS: list[tuple[str, Writer]] = []


def writer(name: str) -> Callable[[Writer], Writer]:
    """Register a writer; writers run in the order they are registered."""

    def register(fn: Writer) -> Writer:
        WRITERS.append((name, fn))
        return fn

    return register


# -- writers ---------------------------------------------------------------------------

P_PERSONNUMMER = b"persons.personnummer"
P_GIVEN = b"persons.given_name"
P_SURNAME = b"persons.surname"
P_TOTP = b"users.totp_secret"
P_CASE_EMAIL = b"cases.email"
P_STREET = b"cases.street"
P_POSTCODE = b"cases.postcode"
P_CITY = b"cases.city"
P_FULLMAKT = b"fullmakter.text"
P_ENDPOINT = b"webhook_endpoints.secrets"
P_PAYLOAD = b"webhook_deliveries.payload"
P_BUDGET_PERSON = b"budget_entries.person"
P_DEBT = {
    name: f"debts.{name}".encode()
    for name in columns(
        "creditor_name reference original_creditor kfm_case note change_reason removed_reason"
    )
}


@writer("directory")
def write_directory(w: World, load: Load) -> None:
    """The system data key, the organisations (municipalities, creditors, agencies) and
    the creditor directory (one entry per creditor organisation, web or API)."""
    rng = w.rng("directory")
    w.system_key = new_uuid(rng)
    w.new_data_key(w.system_key)
    w.keyring.default_key_id = w.system_key
    created = at_offset(2 * YEAR)
    load.copy(
        "data_keys",
        ("id", "created_at", "purpose", "master_key_id", "wrapped", "current", "destroyed_at"),
        [(w.system_key, created, "system", IN_KEY_STORE, None, True, None)],
    )
    s = w.scale
    for m in range(s.municipalities):
        town = TOWNS[m] if m < len(TOWNS) else f"Bänkby {m}"
        w.municipalities.append(
            Org(
                new_uuid(rng),
                f"{town} kommun",
                municipality_orgnr(m),
                OrgKind.MUNICIPALITY,
                created + timedelta(minutes=m),
            )
        )
    for c in range(s.creditors):
        name, kinds, kind = creditor_name(c)
        org = Org(
            new_uuid(rng), name, creditor_orgnr(c), kind, created + timedelta(hours=1, minutes=c)
        )
        channel = Channel.API if c == 0 or rng.random() < 0.35 else Channel.WEB
        api = channel == Channel.API
        w.creditors.append(
            CreditorInfo(
                id=new_uuid(rng),
                org=org,
                name=name,
                channel=channel,
                kinds=kinds,
                answer_p=0.97 if c == 0 else rng.uniform(0.75, 0.98),
                yes_p=0.35 if c == 0 else rng.uniform(0.15, 0.5),
                median_days=rng.uniform(0.02, 0.5) if api else rng.uniform(1.0, 8.0),
                email=None if api else f"inkorg@borgenar-{c}.bench.invalid",
            )
        )
    orgs = w.municipalities + [c.org for c in w.creditors]
    load.copy(
        "organisations",
        columns(
            "id created_at name orgnr kind fullmakt_months inquiry_reminder_days "
            "inquiry_overdue_days"
        ),
        (
            (
                o.id,
                o.created_at,
                o.name,
                o.orgnr,
                o.kind.value,
                FULLMAKT_MONTHS,
                REMINDER_DAYS,
                OVERDUE_DAYS,
            )
            for o in orgs
        ),
    )
    load.copy(
        "creditors",
        columns("id created_at name orgnr organisation_id channel email postal_address active"),
        (
            (
                c.id,
                c.org.created_at,
                c.name,
                c.org.orgnr,
                c.org.id,
                c.channel.value,
                c.email,
                None,
                True,
            )
            for c in w.creditors
        ),
    )


@writer("staff")
def write_staff(w: World, load: Load) -> None:
    """Counsellors, municipality admins, creditor 0's agents and every creditor's admin
    (all with the bench password and TOTP secret); API keys of the API creditors
    (creditor 0's is ``accounts.API_KEY``); webhook endpoints of creditor 0 and about
    half of the other API creditors."""
    rng = w.rng("staff")
    s = w.scale
    w.password_hash = w.password_hash or passwords.hash_password(accounts.PASSWORD)
    enrolled = at_offset(YEAR + 20 * 86400)
    users: list[tuple] = []

    def add(org: Org, email: str, name: str, role: Role) -> uuid.UUID:
        user_id = new_uuid(rng)
        users.append((user_id, enrolled - timedelta(days=1), org.id, email, name, role.value))
        return user_id

    def person_name() -> str:
        return f"{rng.choice(GIVEN)} {rng.choice(SURNAMES)}"

    for i in range(s.counsellors):
        name = person_name()
        w.counsellors.append(
            add(
                w.municipalities[i % s.municipalities],
                accounts.counsellor_email(i),
                name,
                Role.COUNSELLOR,
            )
        )
        w.counsellor_names.append(name)
    for m, org in enumerate(w.municipalities):
        w.municipality_admins.append(
            add(org, accounts.municipality_admin_email(m), person_name(), Role.MUNICIPALITY_ADMIN)
        )
    creditor0 = w.creditors[0]
    for i in range(accounts.SIGN_IN_USERS):
        w.agents.append(
            add(creditor0.org, accounts.agent_email(i), person_name(), Role.CREDITOR_AGENT)
        )
    for c, creditor in enumerate(w.creditors):
        creditor.admin_id = add(
            creditor.org, accounts.creditor_admin_email(c), person_name(), Role.CREDITOR_ADMIN
        )
    load.copy(
        "users",
        columns(
            "id created_at organisation_id email name role password_hash totp_secret "
            "totp_enrolled_at totp_last_counter active failed_logins locked_until last_login_at"
        ),
        (
            (
                *u,
                w.password_hash,
                w.seal(accounts.TOTP_SECRET, P_TOTP, w.system_key),
                enrolled,
                None,
                True,
                0,
                None,
                None,
            )
            for u in users
        ),
    )

    keys = []
    for c, creditor in enumerate(w.creditors):
        if creditor.channel != Channel.API:
            continue
        creditor.api_key_id = new_uuid(rng)
        # nobody knows the others' keys: the creditors' own systems hold them
        secret = accounts.API_KEY if c == 0 else KEY_PREFIX + "".join(rng.choices(URLSAFE, k=43))
        keys.append(
            (
                creditor.api_key_id,
                enrolled + timedelta(days=2),
                creditor.org.id,
                "Ekonomisystemet" if c else "Bänk-API",
                secret[:PREFIX_LENGTH],
                hashlib.sha256(secret.encode()).hexdigest(),
                creditor.admin_id,
            )
        )
    load.copy(
        "api_keys",
        columns(
            "id created_at organisation_id name prefix secret_hash created_by last_used_at "
            "revoked_at expires_at replaced_by"
        ),
        ((*k, None, None, None, None) for k in keys),
    )
    w.audit_events.extend(
        (k[1], "user", k[6], k[2], "api_key.created", "api_key", k[0], {"prefix": k[4]})
        for k in keys
    )

    endpoints = []
    for c, creditor in enumerate(w.creditors):
        if creditor.channel != Channel.API or (c > 0 and rng.random() >= 0.5):
            continue
        creditor.endpoint_id = new_uuid(rng)
        at = enrolled + timedelta(days=3)
        secret = "whsec_" + base64.b64encode(rng.randbytes(32)).decode()
        secrets = json.dumps([{"secret": secret, "created_at": iso(at), "expires_at": None}])
        endpoints.append(
            (
                creditor.endpoint_id,
                at,
                creditor.org.id,
                f"https://system.borgenar-{c}.bench.invalid/webhooks/skuldkoll",
                "Ekonomisystemet",
                w.seal(secrets, P_ENDPOINT, w.system_key),
                True,
                None,
            )
        )
        w.audit_events.append(
            (
                at,
                "user",
                creditor.admin_id,
                creditor.org.id,
                "webhook_endpoint.created",
                "webhook_endpoint",
                creditor.endpoint_id,
                {"url": endpoints[-1][3]},
            )
        )
    load.copy(
        "webhook_endpoints",
        columns("id created_at organisation_id url description secrets active disabled_at"),
        endpoints,
    )


URLSAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # as Fullmakt's new_code


def _plan_cases(w: World) -> None:
    """Who the clients are and when things happened to their cases."""
    rng = w.rng("cases")
    s = w.scale
    n_clients = accounts.SIGN_IN_USERS
    client_from, client_until = client_validity(w.today)
    taken = {accounts.client_personnummer(i) for i in range(n_clients)}
    codes: set[str] = set()
    first_birthday = date(1945, 1, 1).toordinal()
    last_birthday = date(2006, 12, 31).toordinal()
    for i in range(s.cases):
        if i < n_clients:
            pnr = accounts.client_personnummer(i)
            counsellor = i
        else:
            while True:  # birth numbers 001-899: 900-999 of 1970 are the clients'
                born = date.fromordinal(rng.randint(first_birthday, last_birthday))
                body = f"{born:%Y%m%d}{rng.randint(1, 899):03d}"
                pnr = body + luhn.calc_check_digit(body[2:])
                if pnr not in taken:
                    taken.add(pnr)
                    break
            counsellor = rng.randrange(s.counsellors)
        while True:
            raw = "".join(rng.choices(CODE_ALPHABET, k=8))
            code = f"FM-{raw[:4]}-{raw[4:]}"
            if code not in codes:
                codes.add(code)
                break
        if i < n_clients:
            signed = clock.on(client_from, dtime(9)).astimezone(UTC) + timedelta(minutes=7 * i)
            created = signed - timedelta(days=2, minutes=rng.randint(0, 600))
            valid_from, valid_until = client_from, client_until
            sent = signed + timedelta(hours=1, minutes=rng.randint(0, 120))
            ended = None
        else:
            back = rng.uniform(1800, 360 * 86400)  # created in the year before the anchor
            created = at_offset(back)
            signed = at_offset(max(back - rng.expovariate(1 / 86400), back * 0.8))
            valid_from = stockholm_day(signed)
            valid_until = period_end(valid_from, FULLMAKT_MONTHS)
            left = (ANCHOR - signed).total_seconds()
            sent = signed + timedelta(seconds=min(rng.uniform(300, 3 * 86400), left * 0.5))
            ended = None
            age = (ANCHOR - sent).total_seconds()
            if age > 3 * 86400 and rng.random() < 0.02:
                window = min(age - 86400, (RETENTION_DAYS - 1) * 86400)
                ended = at_offset(rng.uniform(3600, window))
        w.cases.append(
            CaseInfo(
                index=i,
                id=new_uuid(rng),
                municipality=counsellor % s.municipalities,
                counsellor=counsellor,
                person_id=new_uuid(rng),
                pnr=pnr,
                given=rng.choice(GIVEN),
                surname=rng.choice(SURNAMES),
                key_id=new_uuid(rng),
                created_at=created,
                signed_at=signed,
                valid_from=valid_from,
                valid_until=valid_until,
                fullmakt_id=new_uuid(rng),
                code=code,
                sent_at=sent,
                ended_at=ended,
            )
        )


@writer("clients")
def write_clients(w: World, load: Load) -> None:
    """Persons and cases, each under a data key of its own (made first: the persons and
    cases refer to their keys), and the cases' signed fullmakter (active, or revoked in
    the last month)."""
    _plan_cases(w)
    rng = w.rng("clients")
    key_rng = w.rng("person-keys")  # apart, so the other draws stay as they were
    person_keys = {c.person_id: new_uuid(key_rng) for c in w.cases}
    index_key = w.settings.blind_index_key

    def data_keys() -> Iterator[tuple]:
        for c in w.cases:
            w.new_data_key(c.key_id)
            yield (c.key_id, c.created_at, "case", IN_KEY_STORE, None, False, None)
            person_key = person_keys[c.person_id]
            w.new_data_key(person_key)
            born = c.created_at - timedelta(minutes=1)
            yield (person_key, born, "person", IN_KEY_STORE, None, False, None)

    load.copy(
        "data_keys",
        ("id", "created_at", "purpose", "master_key_id", "wrapped", "current", "destroyed_at"),
        data_keys(),
    )

    def persons() -> Iterator[tuple]:
        for c in w.cases:
            key = person_keys[c.person_id]
            yield (
                c.person_id,
                c.created_at - timedelta(minutes=1),
                key,
                crypto.blind_index(index_key, c.pnr),
                w.seal(c.pnr, P_PERSONNUMMER, key),
                w.seal(c.given, P_GIVEN, key),
                w.seal(c.surname, P_SURNAME, key),
                c.signed_at if c.index < accounts.SIGN_IN_USERS else None,
            )

    load.copy(
        "persons",
        (
            "id",
            "created_at",
            "data_key_id",
            "pnr_index",
            "personnummer",
            "given_name",
            "surname",
            "last_login_at",
        ),
        persons(),
    )

    def cases() -> Iterator[tuple]:
        for c in w.cases:
            org = w.municipalities[c.municipality]
            town = org.name.removesuffix(" kommun")
            protected = rng.random() < 0.01  # skyddad folkbokföring: no address
            email = f"{ascii_fold(c.given)}.{ascii_fold(c.surname)}.{c.index}@klient.bench.invalid"
            k = c.key_id
            yield (
                c.id,
                c.created_at,
                org.id,
                c.person_id,
                w.counsellors[c.counsellor],
                k,
                CaseStatus.ACTIVE.value if c.active else CaseStatus.ENDED.value,
                w.seal(email, P_CASE_EMAIL, k),
                None
                if protected
                else w.seal(f"{rng.choice(STREETS)} {rng.randint(1, 80)}", P_STREET, k),
                None
                if protected
                else w.seal(f"{rng.randint(100, 989)} {rng.randint(10, 99)}", P_POSTCODE, k),
                None if protected else w.seal(town, P_CITY, k),
                rng.choice((24, 36, 36, 36, 48, 60)),
                c.ended_at,
            )

    load.copy(
        "cases",
        columns(
            "id created_at organisation_id person_id counsellor_id data_key_id status email "
            "street postcode city plan_months ended_at"
        ),
        cases(),
    )

    def fullmakter() -> Iterator[tuple]:
        for c in w.cases:
            org = w.municipalities[c.municipality]
            counsellor = str(w.counsellors[c.counsellor])
            history = [
                {
                    "at": iso(c.created_at),
                    "event": "created",
                    "actor_type": "user",
                    "actor_id": counsellor,
                },
                {
                    "at": iso(c.signed_at),
                    "event": "signed",
                    "actor_type": "person",
                    "actor_id": str(c.person_id),
                },
            ]
            if c.ended_at is not None:
                history.append(
                    {
                        "at": iso(c.ended_at),
                        "event": FullmaktStatus.REVOKED.value,
                        "actor_type": "person",
                        "actor_id": str(c.person_id),
                    }
                )
            text = fullmakt_text(org, c.name, c.pnr, FULLMAKT_MONTHS)
            notice = None
            if c.active and (c.valid_until - ANCHOR_DAY).days <= EXPIRY_NOTICE_DAYS:
                notice = clock.on(c.valid_until - timedelta(days=EXPIRY_NOTICE_DAYS), dtime(2))
            yield (
                c.fullmakt_id,
                c.created_at,
                org.id,
                c.id,
                FullmaktStatus.ACTIVE.value if c.active else FullmaktStatus.REVOKED.value,
                c.code,
                FULLMAKT_MONTHS,
                w.seal(text, P_FULLMAKT, c.key_id),
                c.signed_at,
                c.valid_from,
                c.valid_until,
                None,
                None,
                notice,
                c.ended_at,
                None if c.active else "revoked_by_principal",
                history,
            )

    load.copy(
        "fullmakter",
        columns(
            "id created_at organisation_id case_id status code validity_months text signed_at "
            "valid_from valid_until signature_order_id last_reminder_at expiry_notice_at ended_at "
            "end_reason history"
        ),
        fullmakter(),
    )
    for c in w.cases:
        org = w.municipalities[c.municipality].id
        counsellor = str(w.counsellors[c.counsellor])
        w.audit_events.append(
            (
                c.created_at,
                "user",
                counsellor,
                org,
                "case.created",
                "case",
                c.id,
                {"person_id": str(c.person_id)},
            )
        )
        w.audit_events.append(
            (
                c.signed_at,
                "person",
                str(c.person_id),
                None,
                "fullmakt.signed",
                "fullmakt",
                c.fullmakt_id,
                {"valid_until": c.valid_until.isoformat()},
            )
        )
        if c.ended_at is not None:
            w.audit_events.append(
                (
                    c.ended_at,
                    "person",
                    str(c.person_id),
                    None,
                    "fullmakt.revoked",
                    "fullmakt",
                    c.fullmakt_id,
                    {},
                )
            )


def _inquiry_counts(w: World, rng: random.Random) -> tuple[list[bool], list[int]]:
    """Per case: whether it asks creditor 0, and how many other creditors it asks; the
    totals exactly as the scale says."""
    s = w.scale
    n = accounts.SIGN_IN_USERS
    order = list(range(n, s.cases))
    rng.shuffle(order)
    asks0 = [False] * s.cases
    for i in list(range(n)) + order[: s.largest_creditor - n]:
        asks0[i] = True
    total = s.inquiries - s.largest_creditor
    most = s.creditors - 1
    mean = total / s.cases
    least = [1 if i < n else 0 for i in range(s.cases)]
    counts = [min(most, max(least[i], round(mean * rng.uniform(0.4, 1.6)))) for i in range(s.cases)]
    diff = total - sum(counts)
    while diff:
        i = rng.randrange(s.cases)
        if diff > 0 and counts[i] < most:
            counts[i] += 1
            diff -= 1
        elif diff < 0 and counts[i] > least[i]:
            counts[i] -= 1
            diff += 1
    return asks0, counts


DEBT_COUNTS = (50, 80, 100)  # 1, 2 or 3 debts per yes answer: 50 %, 30 %, 20 %
DEBT_STATUS_NAMES = tuple(name for name, _ in DEBT_STATUSES)
DEBT_STATUS_CUMULATIVE = tuple(
    sum(share for _, share in DEBT_STATUSES[: i + 1]) for i in range(len(DEBT_STATUSES))
)
CHANGE_REASON = "Nytt saldobesked från borgenären."
REMOVED_REASON = "Betald i sin helhet."
PLAN_NOTE = "Avbetalning 500 kr/mån enligt överenskommelse."


def _debt_rows(w: World, rng: random.Random, yes: YesAnswer) -> Iterator[tuple]:
    """The debts of one yes answer (encrypted under the case's key); a few changed or
    removed by the counsellor since."""
    case = w.cases[yes.case]
    creditor = w.creditors[yes.creditor]
    org = w.municipalities[case.municipality].id
    k = case.key_id
    seal = w.seal
    random_ = rng.random
    yy = yes.answered_at.year % 100
    agency = creditor.org.kind == OrgKind.AGENCY
    for _ in range(1 + bisect(DEBT_COUNTS, random_() * 100)):
        kind = rng.choice(creditor.kinds)
        low, high = CAPITAL_KR[kind]
        capital = int((low + random_() * (high - low)) * 100)
        status = DEBT_STATUS_NAMES[bisect(DEBT_STATUS_CUMULATIVE, random_() * 100)]
        original = w.creditors[rng.randrange(1, len(w.creditors))].name if agency else None
        rate = rng.randint(300, 2500) if kind in ("loan", "card") else None
        removed = case.active and random_() < 0.01
        changed = case.active and not removed and random_() < 0.02
        later = None
        if removed or changed:
            later = yes.answered_at + timedelta(days=rng.uniform(0.1, 5))
            later = min(later, ANCHOR - timedelta(minutes=1))
        counsellor = w.counsellors[case.counsellor]
        kfm = f"E-{rng.randint(10**5, 10**6 - 1)}-{yy:02d}" if status == "at_kfm" else None
        note = PLAN_NOTE if status == "plan" and random_() < 0.5 else None
        yield (
            new_uuid(rng),
            yes.answered_at,
            org,
            case.id,
            yes.inquiry_id,
            creditor.id,
            seal(creditor.name, P_DEBT["creditor_name"], k),
            seal(str(rng.randint(10**7, 10**10 - 1)), P_DEBT["reference"], k),
            seal(original, P_DEBT["original_creditor"], k),
            kind,
            status,
            capital,
            int(capital * random_() * 0.25),
            rng.choice((0, 0, 6000, 18000, 35000, 100000)),
            rate,
            seal(kfm, P_DEBT["kfm_case"], k),
            seal(note, P_DEBT["note"], k),
            yes.source.value,
            yes.actor[0],
            yes.actor[1],
            yes.answered_at,
            None,
            None,
            None,
            later if changed else None,
            counsellor if changed else None,
            seal(CHANGE_REASON, P_DEBT["change_reason"], k) if changed else None,
            later if removed else None,
            counsellor if removed else None,
            seal(REMOVED_REASON, P_DEBT["removed_reason"], k) if removed else None,
        )


DEBT_COLUMNS = columns(
    "id created_at organisation_id case_id inquiry_id creditor_id creditor_name reference "
    "original_creditor kind status capital_ore interest_ore fees_ore interest_rate_bp kfm_case "
    "note source entered_by_type entered_by_id confirmed_at confirmed_by superseded_at "
    "superseded_by_inquiry_id changed_at changed_by change_reason removed_at removed_by "
    "removed_reason"
)


@writer("inquiries")
def write_inquiries(w: World, load: Load) -> None:
    """About ten inquiries per case over the creditors (creditor 0 asked by
    ``largest_creditor`` cases, the others by a skewed share), with statuses as the
    timeline gives them (queued, delivered, reminded, overdue, answered yes or no,
    cancelled when the fullmakt was revoked); 1-3 debts per yes answer, plus letters the
    counsellor typed in for some cases."""
    rng = w.rng("inquiries")
    s = w.scale
    asks0, counts = _inquiry_counts(w, rng)
    # A skewed share: a few big creditors, many small ones (none near creditor 0).
    weights = [1 / (c + 4) ** 0.9 for c in range(1, s.creditors)]
    cumulative = []
    acc = 0.0
    for weight in weights:
        acc += weight
        cumulative.append(acc)
    n_clients = accounts.SIGN_IN_USERS
    answered_by: list[tuple[str, str]] = []
    for creditor in w.creditors:
        if creditor.channel == Channel.API:
            answered_by.append(("api", str(creditor.api_key_id)))
        else:
            answered_by.append(("user", str(creditor.admin_id)))
    agents = [("user", str(a)) for a in w.agents]

    day = 86400.0
    remind_after, overdue_after = REMINDER_DAYS * day, OVERDUE_DAYS * day
    queued, delivered_, answered_, overdue_, cancelled = (
        InquiryStatus.QUEUED.value,
        InquiryStatus.DELIVERED.value,
        InquiryStatus.ANSWERED.value,
        InquiryStatus.OVERDUE.value,
        InquiryStatus.CANCELLED.value,
    )
    yes_, no_ = Answer.YES.value, Answer.NO.value
    random_, uniform = rng.random, rng.uniform
    last = s.creditors - 2

    def instant(t: float | None) -> datetime | None:
        """``t`` seconds after the anchor (negative: before it)."""
        return None if t is None else ANCHOR + timedelta(seconds=t)

    def inquiries() -> Iterator[tuple]:
        for case in w.cases:
            chosen: list[int] = [0] if asks0[case.index] else []
            picked: set[int] = set()
            while len(picked) < counts[case.index]:
                picked.add(1 + min(bisect(cumulative, random_() * acc), last))
            chosen.extend(sorted(picked))
            client = case.index < n_clients
            # Times in seconds after the anchor; an ended case's inquiries end with it.
            t_first = (case.sent_at - ANCHOR).total_seconds()
            t_end = (case.ended_at - ANCHOR).total_seconds() if case.ended_at else 0.0
            t_second = None
            if not client and len(chosen) > 2 and random_() < 0.3:
                t_second = t_first + uniform(0, min(-t_first * 0.9, 30 * day))
                if case.ended_at is not None and t_second >= t_end:
                    t_second = None
            cut = len(chosen) * 2 // 3
            org = w.municipalities[case.municipality].id
            yes_done = False
            for position, c in enumerate(chosen):
                creditor = w.creditors[c]
                t_sent = t_second if t_second is not None and position >= cut else t_first
                t_sent += position * 0.0015
                t_delivered = t_sent + uniform(1, 90)
                status = delivered_
                t_reminded = t_overdue = t_answered = answer = None
                if t_delivered >= -60:  # the worker has not delivered it yet
                    status, t_delivered = queued, None
                else:
                    delay = rng.lognormvariate(creditor.log_median, 0.8)
                    if client:
                        delay = min(delay, 20 * day)
                    answers = client or random_() < creditor.answer_p
                    if answers and t_delivered + delay < t_end:
                        t_answered = t_delivered + delay
                        status = answered_
                        if client and (c == 0 or not yes_done):
                            answer = yes_
                        else:
                            answer = yes_ if random_() < creditor.yes_p else no_
                    elif case.ended_at is not None:
                        status = cancelled
                    waited = (t_answered if t_answered is not None else t_end) - t_delivered
                    if waited >= remind_after:  # the deadline job's reminder
                        t_reminded = t_delivered + remind_after + uniform(0, day)
                        if t_answered is not None:
                            t_reminded = min(t_reminded, t_answered)
                    if waited >= overdue_after:
                        t_overdue = t_delivered + overdue_after + uniform(0, day)
                        if t_answered is not None and t_overdue >= t_answered:
                            t_overdue = None
                        elif status == delivered_:
                            status = overdue_
                        # a cancelled one keeps when it turned overdue
                inquiry_id = new_uuid(rng)
                actor = source = None
                answered = instant(t_answered)
                delivered = instant(t_delivered)
                if answered is not None:
                    # creditor 0's agents answer some in the portal, its system the rest
                    by_agent = c == 0 and random_() < 0.3
                    actor = agents[rng.randrange(len(agents))] if by_agent else answered_by[c]
                    api = creditor.channel == Channel.API and not by_agent
                    source = "api" if api else "form"
                    if answer == yes_:
                        yes_done = True
                        w.yes_answers.append(
                            YesAnswer(
                                inquiry_id,
                                case.index,
                                c,
                                answered,
                                actor,
                                DebtSource.API if api else DebtSource.FORM,
                            )
                        )
                if c == 0 and delivered is not None:
                    w.creditor0.append(
                        Creditor0Inquiry(
                            inquiry_id,
                            case.index,
                            delivered,
                            answered if answer == yes_ else None,
                        )
                    )
                yield (
                    inquiry_id,
                    instant(t_sent),
                    org,
                    case.id,
                    case.fullmakt_id,
                    creditor.id,
                    creditor.channel_value,
                    status,
                    delivered,
                    instant(t_reminded),
                    instant(t_overdue),
                    answered,
                    answer,
                    actor[0] if actor else None,
                    actor[1] if actor else None,
                    source,
                    None,
                )

    load.copy(
        "inquiries",
        columns(
            "id created_at organisation_id case_id fullmakt_id creditor_id channel status "
            "delivered_at reminded_at overdue_at answered_at answer answered_by_type "
            "answered_by_id answer_source changed_at"
        ),
        inquiries(),
    )

    def debts() -> Iterator[tuple]:
        for yes in w.yes_answers:
            yield from _debt_rows(w, rng, yes)
        # Letters typed in by the counsellor (creditors outside the platform).
        for case in w.cases:
            if not case.active or rng.random() >= 0.1:
                continue
            counsellor = w.counsellors[case.counsellor]
            at = case.sent_at + timedelta(days=rng.uniform(1, 20))
            if at >= ANCHOR:
                continue
            k = case.key_id
            kind, name = rng.choice(
                (
                    ("csn", "Centrala studiestödsnämnden (CSN)"),
                    ("tax", "Skatteverket"),
                    ("rent", "Bostads AB Hemmet"),
                )
            )
            low, high = CAPITAL_KR[kind]
            yield (
                new_uuid(rng),
                at,
                w.municipalities[case.municipality].id,
                case.id,
                None,
                None,
                w.seal(name, P_DEBT["creditor_name"], k),
                w.seal(f"{rng.randint(10**6, 10**8)}", P_DEBT["reference"], k),
                None,
                kind,
                "undisputed",
                rng.randint(low, high) * 100,
                0,
                0,
                None,
                None,
                None,
                DebtSource.MANUAL.value,
                "user",
                str(counsellor),
                at,
                counsellor,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
            )

    load.copy("debts", DEBT_COLUMNS, debts())


@writer("creditor_link")
def write_creditor_link(w: World, load: Load) -> None:
    """A subscription per yes answer (a few ended by the creditor); creditor 0's webhook
    deliveries (``inquiry.created`` per inquiry, ``fullmakt.sent`` per yes, and
    ``fullmakt.revoked``) with their attempts; portal notices of revocations for the
    subscribers without an endpoint."""
    rng = w.rng("creditor_link")
    counsellor_org = [w.municipalities[c.municipality] for c in w.cases]

    def subscriptions() -> Iterator[tuple]:
        for yes in w.yes_answers:
            creditor = w.creditors[yes.creditor]
            case = w.cases[yes.case]
            sub_id = new_uuid(rng)
            at = yes.answered_at + timedelta(seconds=rng.uniform(0.5, 20))
            ended = ended_by = None
            if rng.random() < 0.02 and at < ANCHOR - timedelta(days=1):
                ended = at + (ANCHOR - at) * rng.uniform(0.1, 0.9)
                ended_by = ("user", str(creditor.admin_id))
            else:
                w.subscriptions.append((sub_id, yes.case, yes.creditor))
            yield (
                sub_id,
                at,
                creditor.org.id,
                creditor.id,
                case.fullmakt_id,
                case.id,
                ended is None,
                "answer",
                ended,
                ended_by[0] if ended_by else None,
                ended_by[1] if ended_by else None,
            )

    load.copy(
        "fullmakt_subscriptions",
        columns(
            "id created_at organisation_id creditor_id fullmakt_id case_id active source ended_at "
            "ended_by_type ended_by_id"
        ),
        subscriptions(),
    )

    base_url = w.settings.base_url
    creditor0 = w.creditors[0]
    org0 = creditor0.org.id
    attempts: list[tuple] = []

    def agent(case: CaseInfo) -> dict:
        org = counsellor_org[case.index]
        return {
            "organisation": org.name,
            "orgnr": org.orgnr,
            "counsellor": w.counsellor_names[case.counsellor],
        }

    def revoked_event(case: CaseInfo) -> dict:
        return {
            "fullmakt_id": str(case.fullmakt_id),
            "code": case.code,
            "status": FullmaktStatus.REVOKED.value,
            "valid_from": case.valid_from.isoformat(),
            "valid_until": case.valid_until.isoformat(),
            "occurred_at": iso(case.ended_at),
            "reason": "revoked_by_principal",
        }

    def delivery(at: datetime, event: str, data: dict, case: CaseInfo, key: uuid.UUID | None):
        delivery_id = new_uuid(rng)
        body = envelope(event, data, at)
        roll = rng.random()
        tries = 1 if roll < 0.95 else (rng.randint(2, 4) if roll < 0.99 else 9)
        if at > ANCHOR - timedelta(days=1):
            tries = 1  # its retries would still lie ahead: the bench has none pending
        failed = tries == 9
        when = at + timedelta(seconds=rng.uniform(0.2, 3))
        first = when
        code = None
        for n in range(tries):
            last = n == tries - 1
            ok = last and not failed
            code = 200 if ok else rng.choice((500, 502, 503, None))
            error = None
            if not ok:
                error = "Inget svar inom 10 s" if code is None else f"HTTP {code}"
            attempts.append(
                (
                    new_uuid(rng),
                    org0,
                    delivery_id,
                    when,
                    "first" if n == 0 else "retry",
                    code,
                    rng.randint(40, 400) if code else 10_000,
                    error,
                )
            )
            if not last:
                when += timedelta(seconds=[30, 120, 600, 1800, 3600, 7200, 14400, 28800][n])
        return (
            delivery_id,
            at,
            org0,
            creditor0.endpoint_id,
            "msg_" + new_uuid(rng).hex,
            event,
            case.id if key is not None else None,
            w.seal(body, P_PAYLOAD, key or w.system_key),
            DeliveryStatus.FAILED.value if failed else DeliveryStatus.SUCCEEDED.value,
            tries,
            None,
            when,
            first,
            code,
            None if failed else when,
            when if failed else None,
        )

    def deliveries() -> Iterator[tuple]:
        if creditor0.endpoint_id is None:
            return
        subscribed0 = {case for _, case, creditor in w.subscriptions if creditor == 0}
        for item in w.creditor0:
            case = w.cases[item.case]
            fullmakt = {
                "id": str(case.fullmakt_id),
                "code": case.code,
                "signed_at": iso(case.signed_at),
                "valid_from": case.valid_from.isoformat(),
                "valid_until": case.valid_until.isoformat(),
            }
            data = {
                "inquiry_id": str(item.inquiry_id),
                "personal_number": case.pnr,
                "principal_name": case.name,
                "agent": agent(case),
                "fullmakt": fullmakt,
                "answer_url": f"{base_url}/creditor/api/v1/inquiries/{item.inquiry_id}/answer",
            }
            yield delivery(item.delivered_at, "inquiry.created", data, case, case.key_id)
            if item.yes_at is not None:
                sent = {
                    "id": str(case.fullmakt_id),
                    "code": case.code,
                    "type": "debt_counselling",
                    "status": FullmaktStatus.ACTIVE.value,
                    "signed_at": iso(case.signed_at),
                    "valid_from": case.valid_from.isoformat(),
                    "valid_until": case.valid_until.isoformat(),
                    "principal": {"personal_number": case.pnr, "name": case.name},
                    "agent": agent(case),
                    "inquiry_id": str(item.inquiry_id),
                }
                at = item.yes_at + timedelta(seconds=rng.uniform(1, 30))
                yield delivery(at, "fullmakt.sent", sent, case, case.key_id)
            if case.ended_at is not None and item.case in subscribed0:
                at = case.ended_at + timedelta(seconds=rng.uniform(1, 30))
                yield delivery(at, "fullmakt.revoked", revoked_event(case), case, None)

    load.copy(
        "webhook_deliveries",
        columns(
            "id created_at organisation_id endpoint_id message_id event_type case_id payload "
            "status attempts next_attempt_at last_attempt_at window_started_at last_status_code "
            "succeeded_at failed_at"
        ),
        deliveries(),
    )
    load.copy(
        "webhook_attempts",
        columns("id organisation_id delivery_id attempted_at trigger status_code latency_ms error"),
        attempts,
    )

    def notices() -> Iterator[tuple]:
        for _, case_index, c in w.subscriptions:
            case = w.cases[case_index]
            creditor = w.creditors[c]
            if case.ended_at is None or creditor.endpoint_id is not None:
                continue
            at = case.ended_at + timedelta(seconds=rng.uniform(1, 30))
            read = at + timedelta(hours=rng.uniform(1, 48)) if rng.random() < 0.6 else None
            yield (
                new_uuid(rng),
                at,
                creditor.org.id,
                "fullmakt.revoked",
                case.fullmakt_id,
                revoked_event(case),
                read if read and read < ANCHOR else None,
            )

    load.copy(
        "creditor_notices",
        ("id", "created_at", "organisation_id", "event_type", "fullmakt_id", "data", "read_at"),
        notices(),
    )


BUDGET_LINES = (
    # (category, low kr, high kr, individual: the person's name on the line)
    ("housing", 4_500, 12_000, False),
    ("food", 2_400, 4_200, True),
    ("hygiene", 300, 700, True),
    ("clothes", 500, 1_200, True),
    ("mobile", 200, 450, True),
    ("consumables", 150, 300, False),
    ("media", 300, 900, False),
    ("home_insurance", 120, 350, False),
    ("electricity", 300, 1_500, False),
    ("travel", 300, 1_200, False),
)
INCOME_LINES = (
    ("salary", 17_000, 34_000),
    ("sickness_compensation", 9_000, 16_000),
    ("income_support", 5_000, 9_000),
    ("pension", 9_000, 18_000),
)


@writer("budgets")
def write_budgets(w: World, load: Load) -> None:
    """A monthly budget for about 60 % of the active cases (the clients' always)."""
    rng = w.rng("budgets")

    def rows() -> Iterator[tuple]:
        for case in w.cases:
            if not case.active or (case.index >= accounts.SIGN_IN_USERS and rng.random() >= 0.6):
                continue
            at = case.sent_at + timedelta(hours=rng.uniform(1, 72))
            at = min(at, ANCHOR - timedelta(minutes=1))
            org = w.municipalities[case.municipality].id
            k = case.key_id
            person = w.seal(case.given, P_BUDGET_PERSON, k)
            category, low, high = rng.choice(INCOME_LINES)
            lines = [(category, low, high, True)]
            if rng.random() < 0.3:
                lines.append(("housing_allowance", 800, 3_000, False))
            lines.extend(line for line in BUDGET_LINES if rng.random() < 0.85)
            for n, (category, low, high, individual) in enumerate(lines):
                yield (
                    new_uuid(rng),
                    at + timedelta(microseconds=n),
                    org,
                    case.id,
                    budget_rules.CATEGORIES[category].kind,
                    category,
                    person if individual else None,
                    rng.randint(low, high) * 100,
                )

    load.copy(
        "budget_entries",
        columns("id created_at organisation_id case_id kind category person amount_ore"),
        rows(),
    )


@writer("audit")
def write_audit(w: World, load: Load) -> None:
    """The audit log of the main events (cases created, fullmakter signed and revoked,
    API keys and webhook endpoints created; not the answers and subscriptions, which
    would triple it), in time order, MAC-chained exactly as ``shared.security.audit``
    chains entries (under the ``AUDIT_MAC_KEYS`` of the settings): after a checkpoint
    (``skuldkoll audit-checkpoint``) ``skuldkoll audit-verify`` passes and the app's
    next entry links to the last of these."""
    events = sorted(w.audit_events, key=lambda e: (e[0], str(e[6]), e[4]))
    chain = audit.ChainConfig.from_settings(w.settings)

    def rows() -> Iterator[tuple]:
        prev = audit.GENESIS
        for seq, (
            at,
            actor_type,
            actor_id,
            org,
            action,
            subject_type,
            subject,
            details,
        ) in enumerate(events, start=1):
            entry = SimpleNamespace(
                at=at,
                actor_type=actor_type,
                actor_id=str(actor_id) if actor_id is not None else None,
                organisation_id=org,
                action=action,
                subject_type=subject_type,
                subject_id=str(subject),
                reason=None,
                details=details,
            )
            digest = audit.link(prev, entry, chain)
            yield (
                seq,
                at,
                entry.actor_type,
                entry.actor_id,
                org,
                action,
                subject_type,
                entry.subject_id,
                None,
                details,
                prev,
                digest,
                entry.mac_key_id,
            )
            prev = digest

    n = load.copy(
        "audit_log",
        columns(
            "seq at actor_type actor_id organisation_id action subject_type subject_id reason "
            "details prev_hash hash mac_key_id"
        ),
        rows(),
    )
    if n:
        load.set_sequence("audit_log", "seq", n)


# -- the run ---------------------------------------------------------------------------

LEFT_EMPTY = {
    "alembic_version",
    "outbox",
    "bankid_orders",
    "idempotency_records",
    "sign_in_throttles",
    "email_messages",
    "heartbeats",  # the worker's, not data at scale (see the module's docstring)
    "unsent_fullmakt_events",  # fan-outs not yet run: none once the jobs are done
}


def libpq_url(database_url: str, database: str | None = None) -> str:
    url = make_url(database_url).set(drivername="postgresql")
    if database is not None:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


def prepare_database(database_url: str, replace_existing: bool) -> None:
    """Create the database if missing (dropping it first with ``replace_existing``); an
    existing one must have no tables. Then migrate it to head."""
    name = make_url(database_url).database
    if not name:
        raise SystemExit("bench.generate: the database URL names no database")
    with psycopg.connect(libpq_url(database_url, "postgres"), autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and replace_existing:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            exists = None
        if not exists:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg.connect(libpq_url(database_url)) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()[0]
    if tables:
        raise SystemExit(
            f"bench.generate: database {name!r} is not empty ({tables} tables); "
            "use another name or --replace"
        )
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    finally:
        engine.dispose()


class Deferred:
    """The foreign keys and plain (non-unique) indexes of the schema, dropped for the
    load and created again before its commit, in the same transaction: each foreign key
    is then checked once over all rows (instead of row by row) and each index built
    once. The definitions are the migrated schema's own (``pg_get_constraintdef``,
    ``pg_get_indexdef``); a run that fails rolls back to it."""

    FOREIGN_KEYS = """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
        FROM pg_constraint
        WHERE contype = 'f' AND connamespace = 'public'::regnamespace
        ORDER BY 1, 2"""
    INDEXES = """
        SELECT c.relname, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND NOT i.indisunique AND NOT i.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
        ORDER BY 1"""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn
        self.foreign_keys = conn.execute(self.FOREIGN_KEYS).fetchall()
        self.indexes = conn.execute(self.INDEXES).fetchall()

    def drop(self) -> None:
        for table, name, _ in self.foreign_keys:
            self.conn.execute(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                    sql.Identifier(table), sql.Identifier(name)
                )
            )
        for name, _ in self.indexes:
            self.conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))

    def restore(self) -> None:
        for _, definition in self.indexes:
            self.conn.execute(definition)
        for table, name, definition in self.foreign_keys:
            self.conn.execute(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                    sql.Identifier(table), sql.Identifier(name), sql.SQL(definition)
                )
            )


@dataclass
class Result:
    counts: dict[str, int]
    stats: list[TableStat]
    seconds: float
    unfilled: list[str]


def new_world(scale: Scale, seed: int, settings: skconfig.Settings) -> World:
    # Room for every case's key: the writers pass over the cases several times.
    keyring = crypto.Keyring(
        settings.master_keys, cache_size=max(crypto.CACHE_SIZE, scale.cases + 1)
    )
    world = World(scale, seed, settings, keyring, clock.today())
    keyring.loader = world.load_keys
    return world


def run_writers(world: World, load: Load, say: Callable[..., None]) -> None:
    for name, write in WRITERS:
        began = time.perf_counter()
        write(world, load)
        say(f"{name}: {time.perf_counter() - began:.1f} s")


def dry_run(
    scale: Scale,
    *,
    seed: int = accounts.SEED,
    settings: skconfig.Settings | None = None,
    quiet: bool = True,
) -> tuple[World, DryLoad]:
    """Every writer's rows, made and counted but written nowhere: what ``generate``
    would write with this seed (ids, names, timeline), without a database."""
    scale.check()
    world = new_world(scale, seed, settings or skconfig.load())
    load = DryLoad(quiet=quiet)
    run_writers(world, load, (lambda *a: None) if quiet else print)
    return world, load


def key_store_for(database_url: str, settings: skconfig.Settings) -> str:
    """The key store of one bench database: ``KEY_STORE_URL`` when set, else a directory
    of its own under the instance directory. The data is deterministic from the seed, so
    two bench databases (the scale's and the demo's) have the same key ids: one shared
    store would mix their keys."""
    if settings.key_store_url:
        return settings.key_store_url
    name = make_url(database_url).database or "bench"
    return (settings.instance_dir / "bench-keys" / name).as_uri()


def generate(
    database_url: str,
    scale: Scale,
    *,
    seed: int = accounts.SEED,
    settings: skconfig.Settings | None = None,
    replace_existing: bool = False,
    keep_constraints: bool = False,
    quiet: bool = False,
) -> Result:
    """Create, migrate and fill the database at ``database_url`` (see the module doc)."""
    scale.check()
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    settings = settings or skconfig.load()
    start = time.perf_counter()
    prepare_database(database_url, replace_existing)
    say(f"migrated in {time.perf_counter() - start:.1f} s; loading {scale} (seed {seed})")
    world = new_world(scale, seed, settings)
    with psycopg.connect(libpq_url(database_url)) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '256MB'")
        load = Load(conn, quiet=quiet)
        deferred = None if keep_constraints else Deferred(conn)
        if deferred is not None:
            deferred.drop()
        run_writers(world, load, say)
        if deferred is not None:
            began = time.perf_counter()
            deferred.restore()
            say(
                f"indexes ({len(deferred.indexes)}) and foreign keys "
                f"({len(deferred.foreign_keys)}) restored: {time.perf_counter() - began:.1f} s"
            )
        began = time.perf_counter()
        keystore.open_store(key_store_for(database_url, settings)).put(world.wrapped.values())
        say(f"key store ({len(world.wrapped)} keys): {time.perf_counter() - began:.1f} s")
        commit = time.perf_counter()
        conn.commit()
        say(f"commit: {time.perf_counter() - commit:.1f} s")
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        began = time.perf_counter()
        conn.execute("ANALYZE")
        say(f"analyze: {time.perf_counter() - began:.1f} s")
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT relname FROM pg_stat_user_tables WHERE schemaname = 'public' "
                "ORDER BY relname"
            )
        ]
    counts = load.counts()
    unfilled = [t for t in tables if t not in counts and t not in LEFT_EMPTY]
    seconds = time.perf_counter() - start
    if unfilled:
        say("no writer fills: " + ", ".join(unfilled))
    return Result(counts, load.stats, seconds, unfilled)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.generate", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--database-url")
    parser.add_argument("--scale", choices=SCALES, default="default")
    parser.add_argument("--seed", type=int, default=accounts.SEED)
    parser.add_argument("--replace", action="store_true", help="drop the database first")
    parser.add_argument(
        "--keep-constraints",
        action="store_true",
        help="load with the foreign keys and indexes in place (slower; see Deferred)",
    )
    for f in fields(Scale):
        parser.add_argument(f"--{f.name.replace('_', '-')}", type=int, default=None)
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="make and count the rows without a database (the generator's own time)",
    )
    args = parser.parse_args(argv)
    overrides = {
        f.name: getattr(args, f.name) for f in fields(Scale) if getattr(args, f.name) is not None
    }
    scale = replace(SCALES[args.scale], **overrides)
    if not args.dry_run and not args.database_url:
        parser.error("--database-url is required (or --dry-run)")
    if args.dry_run:
        began = time.perf_counter()
        _, load = dry_run(scale, seed=args.seed, quiet=False)
        total = sum(load.counts().values())
        print(f"total: {total:,d} rows made in {time.perf_counter() - began:.1f} s (dry run)")
        return
    result = generate(
        args.database_url,
        scale,
        seed=args.seed,
        replace_existing=args.replace,
        keep_constraints=args.keep_constraints,
    )
    total = sum(result.counts.values())
    print(f"total: {total:,d} rows in {result.seconds:.1f} s")
    with psycopg.connect(libpq_url(args.database_url)) as conn:
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        print(f"database size: {size.fetchone()[0]}")


if __name__ == "__main__":
    main(sys.argv[1:])
