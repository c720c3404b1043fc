"""The lean autosave app: a WSGI app of its own for the one hot endpoint, mounted beside
the Flask application (``jifa.web.create_app``)::

    PUT /api/v1/autosave/attempts/<attempt_id>/answers/<paper_item_id>
    X-Autosave-Token: <token>
    Content-Type: application/json

    {"answer": ..., "seq": n, "flagged": true|false}

The token comes with the paper (start, resume and status replies): signed with the
app's secret key (itsdangerous) over the attempt, the account and the account's
session version, and sent as a header. Another site cannot make a browser send that
header, so no CSRF token is needed, and the session cookie is not read. Logging out
everywhere (the session version moves on) or deactivating the account ends every token
at once: the guarded statement compares both with the account row on each save.

The rule itself is ``exam.runner.autosave.save_answer``, the same function the Flask
route (``PUT /api/v1/attempts/<a>/answers/<q>``, session cookie + CSRF) calls, so a save
and every refusal read the same through either entrance. Replies use the shared JSON
envelope (``jifa.web.envelope``); response headers and the access log come from
``jifa.web.edge``, which wraps both apps.

Kept per process, all safe to lose: verified tokens (by their text; age is checked on
every request), each attempt's validation rules (papers do not change once generated)
and one autocommit connection per thread (any database error closes it; the next save
reconnects). On SQLite the write queues for the write lock like every transaction; on
PostgreSQL it is one autocommit round trip. The reply is sent after the commit.
"""

from __future__ import annotations

import contextlib
import functools
import http
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from core.db import autocommit, utcnow
from core.errors import DomainError
from exam.runner.autosave import (
    MAX_SAVE_BODY,
    AccountClaim,
    BodyTooLarge,
    Rules,
    save_answer,
    save_rules,
)
from jifa.web.envelope import (
    CREDENTIALS_REFUSED,
    DATABASE_UNAVAILABLE,
    INTEGRITY_CONFLICT,
    encode,
    error_body,
    retry_headers,
)

MOUNT = "/api/v1/autosave"
TOKEN_HEADER = "X-Autosave-Token"
_TOKEN_ENVIRON = "HTTP_" + TOKEN_HEADER.upper().replace("-", "_")
_PATH = re.compile(r"/attempts/([1-9][0-9]{0,17})/answers/([1-9][0-9]{0,17})")
_TOKEN_SALT = "jifa-autosave-token"
_TOKEN_CACHE = 32768
_CLOCK_SKEW = 60  # seconds a token may seem to come from the future (app servers' clocks)
_RULES_SIZE = 8192  # attempts (about 7 KB each)
_RULES_TTL = 600.0  # seconds before an attempt's rules are read again

StartResponse = Callable[..., Any]


def autosave_url(attempt_id: int) -> str:
    """The lean route's prefix for an attempt: append the paper item id."""
    return f"{MOUNT}/attempts/{attempt_id}/answers/"


class AutosaveTokens:
    """Issue and read the per-attempt autosave tokens."""

    def __init__(self, secret_key: str | bytes, max_age: int):
        self._serializer = URLSafeSerializer(secret_key, salt=_TOKEN_SALT)
        self.max_age = max_age
        self._verified = functools.lru_cache(maxsize=_TOKEN_CACHE)(self._verify)

    def issue(self, attempt_id: int, user_id: int, session_version: int) -> str:
        return self._serializer.dumps([attempt_id, user_id, session_version, int(time.time())])

    def claim(self, token: str | None) -> AccountClaim | None:
        """The claim of a genuine, unexpired token; ``None`` otherwise."""
        if not token or len(token) > 256:
            return None
        verified = self._verified(token)
        if verified is None:
            return None
        claim, issued = verified
        age = time.time() - issued
        if age > self.max_age or age < -_CLOCK_SKEW:
            return None
        return claim

    def _verify(self, token: str) -> tuple[AccountClaim, int] | None:
        try:
            data = self._serializer.loads(token)
        except BadData:
            return None
        if not (
            isinstance(data, list) and len(data) == 4 and all(type(v) is int for v in data)  # noqa: E721 - bool is not an id
        ):
            return None
        attempt_id, user_id, session_version, issued = data
        return AccountClaim(user_id, session_version, attempt_id), issued


class AutosaveApp:
    """The WSGI app mounted at ``MOUNT`` (see the module docstring)."""

    def __init__(
        self,
        tokens: AutosaveTokens,
        bind: Engine | Connection,
        logger: logging.Logger | None = None,
    ):
        self.tokens = tokens
        self.bind = bind
        self.logger = logger or logging.getLogger(__name__)
        self._rules_cache: dict[int, tuple[float, Rules]] = {}
        self._local = threading.local()
        self._held: set[Connection] = set()
        self._held_lock = threading.Lock()

    # -------------------------------------------------------------- WSGI

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        status, body = self._answer(environ)
        payload = encode(body)
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        if status in (429, 503):
            headers.extend(retry_headers(status))
        start_response(_status_line(status), headers)
        return [payload]

    def _answer(self, environ: dict) -> tuple[int, dict]:
        match = _PATH.fullmatch(environ.get("PATH_INFO", ""))
        if match is None:
            return 404, error_body(404)
        if environ.get("REQUEST_METHOD") != "PUT":
            return 405, error_body(405)
        claim = self.tokens.claim(environ.get(_TOKEN_ENVIRON))
        if claim is None:
            return 400, error_body(400, CREDENTIALS_REFUSED)
        try:
            body = _read_json(environ)
            result = self._save(claim, int(match[1]), int(match[2]), body)
        except DomainError as exc:
            return exc.status, error_body(exc.status, exc.message, exc.details)
        except IntegrityError as exc:
            self.logger.warning("integrity error: %s", exc.orig)
            return 409, error_body(409, INTEGRITY_CONFLICT)
        except SQLAlchemyError:
            self.logger.exception("database unavailable")
            return 503, error_body(503, DATABASE_UNAVAILABLE)
        except Exception:
            self.logger.exception("unhandled error")
            return 500, error_body(500)
        return 200, {"ok": True, **result}  # only after the commit

    # -------------------------------------------------------------- the save

    def _save(self, claim: AccountClaim, attempt_id: int, item_id: int, body: Any) -> dict:
        bind = self.bind
        if not isinstance(bind, Engine):
            # bound to one connection (the test suite's transaction): a savepoint
            with bind.begin_nested():
                rules = self._rules(bind, attempt_id)
                return save_answer(
                    bind, claim, attempt_id, item_id, body, rules=rules, now=utcnow()
                )
        try:
            return self._save_on(self._connection(bind), claim, attempt_id, item_id, body)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        # The kept connection had gone away (a database restart, an idle connection
        # cut): once more on a new one. Safe to repeat: a save that did commit is not
        # applied twice (same seq), and the reply says it is saved.
        return self._save_on(self._connection(bind), claim, attempt_id, item_id, body)

    def _save_on(
        self, conn: Connection, claim: AccountClaim, attempt_id: int, item_id: int, body: Any
    ) -> dict:
        try:
            rules = self._rules(conn, attempt_id)
            if conn.in_transaction():
                conn.commit()  # a read in autocommit mode: ends the bookkeeping only
            return save_answer(
                conn,
                claim,
                attempt_id,
                item_id,
                body,
                rules=rules,
                now=utcnow(),
                autocommit=True,  # durable when it returns
            )
        except DomainError:
            conn.commit()  # the refusal's read (autocommit: nothing to end but bookkeeping)
            raise
        except BaseException:
            self._drop_connection(conn)  # the next save reconnects
            raise

    def _rules(self, conn: Connection, attempt_id: int) -> Rules:
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

    # -------------------------------------------------------------- connections

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


def _read_json(environ: dict) -> Any:
    """The body decoded as JSON, or ``None`` when it is not JSON (as Flask's
    ``get_json(silent=True)`` would say); ``BodyTooLarge`` beyond ``MAX_SAVE_BODY``."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_SAVE_BODY:
        raise BodyTooLarge
    stream = environ["wsgi.input"]
    if length > 0:
        raw = stream.read(length)
    elif environ.get("wsgi.input_terminated"):  # chunked: the server marks the end
        raw = stream.read(MAX_SAVE_BODY + 1)
        if len(raw) > MAX_SAVE_BODY:
            raise BodyTooLarge
    else:
        raw = b""
    mimetype = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
    if not (
        mimetype == "application/json"
        or (mimetype.startswith("application/") and mimetype.endswith("+json"))
    ):
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


@functools.cache
def _status_line(status: int) -> str:
    return f"{status} {http.HTTPStatus(status).phrase}"
