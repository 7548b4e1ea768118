"""Engine and session factory."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker


def normalise_url(url: str) -> str:
    """Use the psycopg 3 driver for plain postgresql:// URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


# A SELECT containing one of these locks or changes something, so it counts as a write.
_WRITING_SELECT = ("FOR UPDATE", "FOR NO KEY UPDATE", "FOR SHARE", "FOR KEY SHARE", "NEXTVAL(", "SETVAL(",
                   "PG_ADVISORY")
WROTE = "shangliang.wrote"  # key in Connection.info: this transaction sent a statement that may write


def make_engine(url: str, *, pool_size: int = 5, max_overflow: int = 10, echo: bool = False,
                pre_ping: bool = True) -> Engine:
    """Create the engine for a PostgreSQL URL; every transaction notes whether it may have written."""
    engine = create_engine(
        normalise_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=pre_ping,
        echo=echo,
    )
    event.listen(engine, "begin", _forget_writes)
    event.listen(engine, "before_cursor_execute", _note_write)
    return engine


def is_write(statement: str) -> bool:
    """Whether a SQL statement may change or lock data (anything but a plain SELECT)."""
    if statement.lstrip()[:6].upper() != "SELECT":
        return True
    upper = statement.upper()
    return any(word in upper for word in _WRITING_SELECT)


def _forget_writes(conn: Connection) -> None:
    conn.info[WROTE] = False


def _note_write(conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any,
                executemany: bool) -> None:
    if not conn.info.get(WROTE) and is_write(statement):
        conn.info[WROTE] = True


def may_have_written(session: Session) -> bool:
    """Whether the session's open transaction sent anything that may write (pending changes flushed first)."""
    if not session.in_transaction():
        return bool(session.new or session.dirty or session.deleted)
    session.flush()
    return bool(session.connection().info.get(WROTE, True))


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
