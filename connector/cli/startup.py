"""Checks before ``connector serve`` prints anything: each failure is one clear line, not a traceback.

A database that cannot be opened (a SQLite path blocked by a file, an unreachable PostgreSQL)
and a port that is already taken are said before the connector announces itself.
"""

from __future__ import annotations

import errno
import socket

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from connector.config import Settings
from connector.store import Database


class StartupError(Exception):
    """Why the connector cannot start, in one line."""


def shown_url(url: str) -> str:
    """A database URL fit to print: the password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001  (an unparsable URL is shown as written, it holds nothing parsed)
        return url


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


def open_database(settings: Settings) -> Database:
    """The connector's database, migrated to the newest schema; StartupError says why not."""
    url = shown_url(settings.database_url)
    try:
        db = Database(settings.database_url)
    except OSError as exc:  # the SQLite file's folder cannot be made (a file is in the way, no permission)
        raise StartupError(f"database {url}: cannot create the folder {exc.filename or ''} for it: "
                           f"{exc.strerror or exc}") from None
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise StartupError(f"database {url}: {_first_line(exc)}") from None
    try:
        db.migrate()
    except SQLAlchemyError as exc:
        db.dispose()
        where = "cannot open or create the file" if db.is_sqlite else "cannot connect or migrate"
        raise StartupError(f"database {url}: {where}: {_first_line(exc)}") from None
    except OSError as exc:
        db.dispose()
        raise StartupError(f"database {url}: {exc.strerror or exc}") from None
    return db


def check_port_free(host: str, port: int, section: str = "[server]") -> None:
    """Refuse to start on an address another process listens on (said before any banner)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no obstacle
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise StartupError(f"address {host}:{port} is already in use (another connector or program "
                                   f"listens there); stop it or set another port under {section}") from None
            raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
