"""A lean WSGI path for the one hot endpoint: autosave.

``PUT /api/v1/attempts/<attempt_id>/answers/<item_id>`` arrives every few seconds from
every candidate. Through Flask it pays for request and app contexts, ``g`` and proxies,
the CSRF extension, the session interface, the identity query and an ORM session commit
on top of the statements that do the work. This middleware answers a *valid* save with
the same checks and nothing else:

- the session cookie is verified with Flask's own signing serializer (same secret,
  salt, key fallbacks and lifetime), the CSRF header with flask-wtf's serializer and
  compared with the session's token in constant time, with the same HTTPS referrer rule;
- the answer is validated against the attempt's item rules (``exam.attempts.save_rules``,
  read once per attempt and process: papers do not change once generated);
- one guarded upsert (``exam.attempts.run_guarded_save``) checks the account (active,
  same session version, owner of the attempt), the attempt (in progress, deadline plus
  grace, read fresh) and the sequence number in its own WHERE clause; on SQLite it
  queues for the write lock like every transaction, on PostgreSQL it is one autocommit
  round trip;
- the reply is sent only after the commit.

Each thread keeps one autocommit connection for this path (no pool checkout per save);
any database error closes it and the next save reconnects.

Verified signatures are remembered per process (a candidate sends the same cookie and
token for the whole exam); expiry is still checked on every request.

Anything else, an unusual request or any check that fails (no cookie, bad token, closed
attempt, past the deadline, malformed answer, a busy database), is handed to the Flask
application untouched, with the body replayed, so every error is produced by the one
full-featured path and reads exactly as before. The fast path can refuse to serve a
request; it can never accept one the Flask path would reject.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hmac
import io
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from flask_wtf.csrf import same_origin
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from core.db import autocommit, one_statement_write, utcnow
from core.errors import DomainError
from exam.attempts import (
    AccountClaim,
    ItemRule,
    plan_guarded_save,
    run_guarded_save,
    save_rules,
)

_PATH = re.compile(r"/api/v1/attempts/([1-9][0-9]{0,17})/answers/([1-9][0-9]{0,17})")
_MAX_BODY = 64 * 1024
_CACHE_SIZE = 32768
_RULES_SIZE = 8192  # attempts (about 7 KB each)
_RULES_TTL = 600.0  # seconds before an attempt's rules are read again

StartResponse = Callable[..., Any]


class AutosaveFastPath:
    """WSGI middleware placed around ``app.wsgi_app`` (see the module docstring)."""

    def __init__(self, app: Flask, inner: Callable[[dict, StartResponse], Iterable[bytes]]):
        self.app = app
        self.inner = inner
        self.served = 0  # saves answered here (read by tests and benchmarks)
        self._rules_cache: dict[int, tuple[float, dict[int, ItemRule]]] = {}
        self._local = threading.local()
        self._held: set[Connection] = set()
        self._held_lock = threading.Lock()
        self._ready = False

    # -------------------------------------------------------------- setup

    def _setup(self) -> None:
        app = self.app
        cfg = app.config
        serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
        if serializer is None:  # no secret key: Flask will say so
            raise _Decline
        self._cookie_name = cfg["SESSION_COOKIE_NAME"]
        self._cookie_max_age = int(app.permanent_session_lifetime.total_seconds())
        self._cookie_loads = functools.lru_cache(maxsize=_CACHE_SIZE)(
            functools.partial(_loads_with_timestamp, serializer)
        )
        csrf_key = cfg.get("WTF_CSRF_SECRET_KEY") or app.secret_key
        self._csrf_loads = functools.lru_cache(maxsize=_CACHE_SIZE)(
            functools.partial(
                _loads_with_timestamp, URLSafeTimedSerializer(csrf_key, salt="wtf-csrf-token")
            )
        )
        self._csrf_field = cfg["WTF_CSRF_FIELD_NAME"]
        self._csrf_time_limit = cfg.get("WTF_CSRF_TIME_LIMIT", 3600)
        self._csrf_headers = [
            "HTTP_" + h.upper().replace("-", "_") for h in cfg["WTF_CSRF_HEADERS"]
        ]
        self._csrf_on = (
            cfg["WTF_CSRF_ENABLED"] and cfg["WTF_CSRF_CHECK_DEFAULT"]
        ) and "PUT" in cfg["WTF_CSRF_METHODS"]
        self._ssl_strict = cfg["WTF_CSRF_SSL_STRICT"]
        self._bind = app.extensions["jifa_sessions"].kw["bind"]
        self._ready = True

    # -------------------------------------------------------------- WSGI

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "PUT" or not self.app.config["FAST_AUTOSAVE"]:
            return self.inner(environ, start_response)
        match = _PATH.fullmatch(environ.get("PATH_INFO", ""))
        if match is None:
            return self.inner(environ, start_response)
        body = _read_body(environ)
        if body is None:
            return self.inner(environ, start_response)
        try:
            payload = self._save(environ, body, int(match[1]), int(match[2]))
        except Exception as exc:
            if not isinstance(exc, _Decline):  # a bug here must not cost the save
                self.app.logger.exception("autosave fast path failed; using the full path")
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            return self.inner(environ, start_response)
        self.served += 1
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(payload))),
                ("Vary", "Cookie"),
            ],
        )
        return [payload]

    def _save(self, environ: dict, body: bytes, attempt_id: int, item_id: int) -> bytes:
        if not self._ready:
            self._setup()
        session = self._session(environ)
        if self._csrf_on:
            self._check_csrf(environ, session)
        try:
            claim = AccountClaim(int(session["uid"]), int(session["sv"]))
            data = json.loads(body)
        except (KeyError, TypeError, ValueError):
            raise _Decline from None
        try:
            result = self._write(attempt_id, claim, item_id, data)
        except (DomainError, SQLAlchemyError):
            raise _Decline from None
        if result is None:  # refused by the guard, or an older save arriving late
            raise _Decline
        return _dumps({"ok": True, **result})  # only after the commit

    def _write(self, attempt_id: int, claim: AccountClaim, item_id: int, data: Any):
        bind = self._bind
        if isinstance(bind, Engine):
            conn = self._connection(bind)
            try:
                plan = self._plan(conn, attempt_id, claim, item_id, data)
                conn.commit()  # a read in autocommit mode: no lock taken, nothing written
                if plan is None:
                    return None
                with one_statement_write(conn):  # durable when the block ends
                    return run_guarded_save(conn, plan)
            except BaseException:
                self._drop_connection(conn)  # the next save reconnects
                raise
        # An app bound to one connection (the test suite's transaction): a savepoint.
        with bind.begin_nested():
            plan = self._plan(bind, attempt_id, claim, item_id, data)
            return None if plan is None else run_guarded_save(bind, plan)

    def _connection(self, engine: Engine) -> Connection:
        """This thread's autocommit connection, kept between saves (no pool checkout
        and reset per save; between statements it holds no lock and no transaction)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = autocommit(engine.connect())
            self._local.conn = conn
            with self._held_lock:
                self._held.add(conn)
        return conn

    def _drop_connection(self, conn: Connection) -> None:
        self._local.conn = None
        with self._held_lock:
            self._held.discard(conn)
        with contextlib.suppress(Exception):
            conn.close()

    def close(self) -> None:
        """Close the connections kept by every thread (tests; a worker exiting)."""
        with self._held_lock:
            held, self._held = self._held, set()
        for conn in held:
            with contextlib.suppress(Exception):
                conn.close()
        self._local = threading.local()

    def _plan(self, conn, attempt_id, claim, item_id, data):
        rules = self._rules(conn, attempt_id)
        return plan_guarded_save(attempt_id, claim, item_id, data, rules, now=utcnow())

    def _rules(self, conn, attempt_id: int) -> dict[int, ItemRule]:
        """The attempt's validation rules, read once per attempt and process (papers do
        not change once generated); oldest entries are dropped beyond ``_RULES_SIZE``."""
        cached = self._rules_cache.get(attempt_id)
        if cached is not None and time.monotonic() - cached[0] < _RULES_TTL:
            return cached[1]
        rules = save_rules(conn, attempt_id)
        if rules:
            self._rules_cache.pop(attempt_id, None)
            while len(self._rules_cache) >= _RULES_SIZE:
                try:  # threaded workers may evict concurrently
                    self._rules_cache.pop(next(iter(self._rules_cache)), None)
                except (StopIteration, RuntimeError):
                    break
            self._rules_cache[attempt_id] = (time.monotonic(), rules)
        return rules

    # -------------------------------------------------------------- checks

    def _session(self, environ: dict) -> dict:
        value = _cookie(environ.get("HTTP_COOKIE", ""), self._cookie_name)
        if not value:
            raise _Decline
        loaded = self._cookie_loads(value)
        if loaded is None or not _fresh(loaded[1], self._cookie_max_age):
            raise _Decline
        session = loaded[0]
        if not isinstance(session, dict):
            raise _Decline
        return session

    def _check_csrf(self, environ: dict, session: dict) -> None:
        token = next((environ[h] for h in self._csrf_headers if environ.get(h)), None)
        expected = session.get(self._csrf_field)
        if not token or not isinstance(expected, str):
            raise _Decline
        loaded = self._csrf_loads(token)
        if loaded is None or not _fresh(loaded[1], self._csrf_time_limit):
            raise _Decline
        if not isinstance(loaded[0], str) or not hmac.compare_digest(expected, loaded[0]):
            raise _Decline
        if environ.get("wsgi.url_scheme") == "https" and self._ssl_strict:
            referrer = environ.get("HTTP_REFERER")
            host = environ.get("HTTP_HOST")
            if not referrer or not host or not same_origin(referrer, f"https://{host}/"):
                raise _Decline


class _Decline(Exception):
    """Hand the request to the Flask application."""


def _loads_with_timestamp(
    serializer: URLSafeTimedSerializer, value: str
) -> tuple[Any, dt.datetime] | None:
    try:
        return serializer.loads(value, return_timestamp=True)
    except BadData:
        return None


def _fresh(signed_at: dt.datetime, max_age: int | None) -> bool:
    """itsdangerous' rule: not from the future, not older than ``max_age`` seconds."""
    age = time.time() - signed_at.timestamp()
    return age >= -1e-6 and (max_age is None or age <= max_age)


def _cookie(header: str, name: str) -> str | None:
    """The value of one cookie; ``None`` if absent, repeated or quoted (left to
    werkzeug's full parser on the Flask path)."""
    found = None
    prefix = name + "="
    for part in header.split(";"):
        part = part.strip()
        if part.startswith(prefix):
            if found is not None:
                return None
            found = part[len(prefix) :]
    if found is None or found.startswith('"'):
        return None
    return found


def _read_body(environ: dict) -> bytes | None:
    ctype = environ.get("CONTENT_TYPE", "")
    mimetype = ctype.split(";", 1)[0].strip().lower()
    if mimetype != "application/json":
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    if length <= 0 or length > _MAX_BODY or environ.get("HTTP_TRANSFER_ENCODING"):
        return None
    body = environ["wsgi.input"].read(length)
    if len(body) != length:
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return None
    return body


def _dumps(obj: dict) -> bytes:
    # Flask's JSON provider output: compact, UTF-8 (JSON_AS_ASCII off), trailing newline.
    return (
        json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n"
    ).encode()
