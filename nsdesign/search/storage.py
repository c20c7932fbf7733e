"""Where a study lives: in memory, or in storage that many workers share and that survives a killed worker.

URL forms:
- None                         in memory (this process only; gone when it exits)
- sqlite:///path/to/file.db    Optuna RDBStorage on SQLite (several processes on one machine)
- postgresql+psycopg2://user@host:port/db  (or postgresql://…, mysql://…)  RDBStorage on a server
- journal:PATH                 optuna.storages.JournalStorage on an append-only file (JournalFileBackend)

Every trial is written when it completes, so `kill -9` on a worker loses only the trial it was running.
RDB storages run with a heartbeat: a trial whose worker stopped beating for `GRACE_PERIOD` seconds is marked
FAIL by the next worker that starts a trial (journal files have no heartbeat; a killed worker's trial
simply stays RUNNING there and is never counted).

A study records its settings (band, objective, space …) as the user attribute `nsdesign_settings`; a
worker pointed at an existing study with other settings is refused *before* it writes anything.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any, Mapping

from nsdesign._files import require_regular
from nsdesign.errors import InputError

SETTINGS_ATTR = "nsdesign_settings"
HEARTBEAT_INTERVAL = 5
GRACE_PERIOD = 20
CREATE_ATTEMPTS = 8
_RACES = ("already exists", "UNIQUE constraint", "UniqueViolation", "duplicate key", "IntegrityError", "locked")
RDB_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql")


def describe(url: str | None) -> str:
    """The URL without a password (for messages and provenance)."""
    if url is None:
        return "memory"
    if "://" in url and "@" in url.split("://", 1)[1]:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}@{host}"
    return url


def open_storage(url: str | None) -> Any:
    """An Optuna storage for `url`; an unreachable or malformed one is an InputError (nothing is created)."""
    import optuna

    if url is None:
        return optuna.storages.InMemoryStorage()
    if not isinstance(url, str) or not url.strip():
        raise InputError("`storage` must be a URL (sqlite:///file.db, postgresql://…, journal:PATH)")
    if url.startswith("journal:"):
        return _journal(url[len("journal:"):])
    scheme = url.split("://", 1)[0].split("+", 1)[0] if "://" in url else ""
    if scheme not in RDB_SCHEMES:
        raise InputError(
            f"unsupported storage {describe(url)!r}: use sqlite:///file.db, postgresql+psycopg2://user@host:port/db, "
            "mysql://…, or journal:PATH"
        )
    if scheme == "sqlite":
        path = url.split("://", 1)[1].split("?", 1)[0]
        path = path[1:] if path.startswith("/") else path
        if not path or path == ":memory:" or path.startswith("file::memory:"):
            # Each SQLAlchemy connection would get its own empty database, and Optuna's heartbeat thread
            # opens another one: the study would be invisible to it (and to any other worker).
            raise InputError(
                f"storage {describe(url)!r} is an in-memory SQLite database, which no other connection or worker "
                "can see; omit `storage` for an in-memory study or give sqlite:///file.db"
            )
        if not Path(path).parent.is_dir():
            raise InputError(f"cannot open storage {describe(url)}: directory {Path(path).parent} does not exist")
        if "mode=ro" in url.split("?", 1)[-1]:  # SQLAlchemy would create the file, then every trial would fail
            raise InputError(f"storage {describe(url)!r} is read-only (mode=ro); a study writes")
    engine_kwargs: dict[str, Any] = {}
    if scheme in ("postgresql", "postgres"):
        engine_kwargs = {"connect_args": {"connect_timeout": 10}}
    import warnings

    last: Exception | None = None
    for attempt in range(CREATE_ATTEMPTS):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(
                    url,
                    engine_kwargs=engine_kwargs or None,
                    heartbeat_interval=HEARTBEAT_INTERVAL,
                    grace_period=GRACE_PERIOD,
                )
        except ImportError:
            raise InputError(f"{describe(url)}: its database driver is not installed") from None
        except Exception as exc:  # sqlalchemy OperationalError, ArgumentError, …
            last = exc
            # Workers started together race to create the schema ("table … already exists"): try again.
            if not any(word in str(exc) for word in _RACES):
                break
            time.sleep(0.2 * (attempt + 1))
    first = str(last).strip().splitlines()[0] if last is not None and str(last).strip() else type(last).__name__
    raise InputError(f"cannot reach storage {describe(url)}: {_short(first)}") from None


def _short(reason: str) -> str:
    """A driver's first line without its class tag ("(sqlite3.OperationalError) disk I/O error"), 40 columns."""
    reason = re.sub(r"^\([\w.]+\)\s*", "", reason)
    return reason if len(reason) <= 40 else reason[:39] + "…"


def _journal(path: str) -> Any:
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    if not path:
        raise InputError("journal storage needs a file: `storage` journal:PATH")
    target = Path(path)
    if not target.parent.is_dir():
        raise InputError(f"cannot open storage journal:{path}: directory {target.parent} does not exist")
    if os.path.lexists(path):  # a FIFO, directory or device is refused before Optuna opens (and blocks on) it

        require_regular(path, "storage journal")
    try:
        return JournalStorage(JournalFileBackend(os.fspath(target)))
    except OSError as exc:
        raise InputError(f"cannot open storage journal:{path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, ValueError, AssertionError, TypeError, KeyError, IndexError, AttributeError) as exc:
        # Optuna replays the whole log when it opens it: binary data (UnicodeDecodeError), non-JSON lines
        # (JSONDecodeError is a ValueError), an unknown op_code (AssertionError "Should not reach."), a
        # line that is JSON but not an object (TypeError) or lacks fields (KeyError) all end up here.
        detail = _first_line(exc) or type(exc).__name__
        raise InputError(
            f"storage journal:{path} is not an Optuna journal file ({type(exc).__name__}: {detail}); "
            "give a new file or one an nsdesign study wrote with journal storage"
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:120] if text else ""


def canonical(settings: Mapping[str, Any]) -> str:
    """Stable JSON text of a settings mapping (what is stored and compared)."""
    return json.dumps(settings, sort_keys=True, separators=(",", ":"), default=str)


def check_settings(study_name: str, stored: Any, wanted: Mapping[str, Any], url: str | None) -> None:
    """Refuse to join a study created with other settings; name the first difference."""
    if stored is None:
        raise InputError(
            f"study {study_name!r} in {describe(url)} was not created by nsdesign search (no recorded settings); "
            "choose another `study_name`"
        )
    old = json.loads(stored) if isinstance(stored, str) else stored
    new = json.loads(canonical(wanted))
    if old == new:
        return
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            raise InputError(
                f"study {study_name!r} in {describe(url)} exists with different settings "
                f"({key}: stored {json.dumps(old.get(key))}, now {json.dumps(new.get(key))}); "
                "use another `study_name` or the original options"
            )
    raise InputError(f"study {study_name!r} exists with different settings")  # pragma: no cover
