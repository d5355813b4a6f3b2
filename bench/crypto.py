"""Micro-benchmarks of the data layer (``python -m bench crypto``). Figures are ratios
against a baseline measured in the same run, because the machine is noisy.

1. Encrypted personal data: inserting and reading people whose personnummer and names
   are encrypted (AES-GCM, envelope keys) against the same rows in plain text.
2. Audit log: appending hash-chained entries against plain inserts of the same rows.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from sqlalchemy import Column, MetaData, String, Table, Text, insert, select
from stdnum import luhn

from shared.core import db as dbmod
from shared.core.config import Settings
from shared.core.models import Base
from shared.identity.models import Person
from shared.security import audit, crypto

N = 2000


def pnrs(n: int) -> list[str]:
    out = []
    for i in range(n):
        body = f"{1950 + i % 50:04d}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
        out.append(body + luhn.calc_check_digit(body[2:]))
    return out


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    settings = Settings(env="test", database_url=f"sqlite:///{tmp / 'bench.db'}", instance_dir=tmp)
    database = dbmod.init(settings)
    Base.metadata.create_all(database.engine)
    plain_meta = MetaData()
    plain = Table(
        "plain_persons",
        plain_meta,
        Column("pnr_index", String(64)),
        Column("personnummer", Text),
        Column("given_name", Text),
        Column("surname", Text),
    )
    plain_meta.create_all(database.engine)
    with database.session() as s, s.begin():
        dbmod.ensure_system_key(s)
    numbers = pnrs(N)
    key = settings.blind_index_key

    def insert_plain():
        with database.engine.begin() as c:
            c.execute(
                insert(plain),
                [
                    {
                        "pnr_index": crypto.blind_index(key, p),
                        "personnummer": p,
                        "given_name": "Karin",
                        "surname": "Åkerström",
                    }
                    for p in numbers
                ],
            )

    def insert_encrypted():
        with database.session() as s, s.begin():
            s.add_all(
                Person(
                    pnr_index=crypto.blind_index(key, p),
                    personnummer=p,
                    given_name="Karin",
                    surname="Åkerström",
                )
                for p in numbers
            )

    def read_plain():
        with database.engine.connect() as c:
            assert len(c.execute(select(plain)).all()) == N

    def read_encrypted():
        with database.session() as s:
            assert len(s.scalars(select(Person)).all()) == N

    def audit_chain():
        with database.session() as s, s.begin():
            for i in range(N):
                audit.record(
                    s,
                    audit.Actor("user", "bench"),
                    "person.view",
                    subject_type="person",
                    subject_id=str(i),
                )

    results = {
        "insert plain": timed(insert_plain),
        "insert encrypted (ORM)": timed(insert_encrypted),
        "read plain": timed(read_plain),
        "read encrypted (ORM)": timed(read_encrypted),
        "audit append (hash chain)": timed(audit_chain),
    }
    print(f"{N} rows each, SQLite, {settings.database_url}")
    for name, secs in results.items():
        print(f"  {name:28s} {secs * 1000:8.1f} ms  {secs / N * 1e6:8.1f} µs/row")
    print(
        f"  encrypted/plain insert ratio: "
        f"{results['insert encrypted (ORM)'] / results['insert plain']:.1f}x"
    )
    print(
        f"  encrypted/plain read ratio:   "
        f"{results['read encrypted (ORM)'] / results['read plain']:.1f}x"
    )


if __name__ == "__main__":
    main()
