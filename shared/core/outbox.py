from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from shared.core import clock
from shared.core.models import Base, IdMixin, UTCDateTime


class OutboxMessage(IdMixin, Base):
    """A job written in the same transaction as the state change that causes it.

    After the commit it is handed to RQ (job id = this id, so it is enqueued once) or run
    in-process; a periodic sweep hands over anything a crash left behind. The job marks
    it done, and a done message is never run again.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        # The sweep and /healthz ask for the messages not done yet, oldest first: a few
        # among the millions done, so an index of those few (it stays small).
        Index(
            "ix_outbox_pending",
            "created_at",
            postgresql_where=text("done_at IS NULL"),
            sqlite_where=text("done_at IS NULL"),
        ),
    )

    # wall time: the outbox sweep must not be fooled by the demo clock
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.wall_now)
    job: Mapped[str] = mapped_column(String(200))  # dotted path of a function in worker/
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    queue: Mapped[str] = mapped_column(String(40), default="default")
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # the request that wrote it (shared.core.logcontext): the worker logs it too
    request_id: Mapped[str | None] = mapped_column(String(64))
