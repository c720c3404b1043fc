"""Authentication, throttling, passwords and accounts. Services take a session and
``now``; they never commit. What an account may see is ``core.accounts.scope``; role
changes are ``core.accounts.roles``.

Throttling state lives in the database (``login_attempts``), so it holds across
gunicorn workers and app servers. Every limit is a sliding window over the recorded
failures, counted by the login as typed (so an unknown person number is throttled
exactly like a real one and the reply never tells them apart):

- one login from one client address: ``max_failures`` per ``lockout_seconds``;
- one login from every address: ``max_account_failures`` per ``account_window_seconds``
  (a slow or distributed guesser), except from an address that logged into the
  account before (``known_address_days``), so nobody locks a person out of their own
  desk by guessing from elsewhere;
- one client address over all logins: ``max_ip_failures`` per ``window_seconds``;
- exam codes from one address: ``max_code_failures`` per ``window_seconds``.

A refused attempt answers ``TooManyRequests`` with ``retry_after`` (seconds) and costs
the same password hash as any other, so its timing says nothing either.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload
from werkzeug.security import check_password_hash, generate_password_hash

from core.accounts.models import LoginAttempt, Role, RoleGrant, UserAccount
from core.accounts.scope import Scope, require_unit
from core.errors import InvalidInput, NotAuthenticated, NotFound, TooManyRequests
from core.excel import SheetSpec
from core.org.models import OrgUnit, Person
from core.org.services import full_name

MIN_PASSWORD_LENGTH = 8
# A dummy hash so that unknown logins cost as much time as known ones.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


@dataclass(frozen=True)
class ThrottlePolicy:
    #: failures of one login from one address within ``lockout_seconds``
    max_failures: int = 5
    #: the window of the per-address limits (all logins; exam codes)
    window_seconds: int = 60
    lockout_seconds: int = 300
    #: failures from one IP address per window across all accounts
    max_ip_failures: int = 50
    #: failures of one login from every address within ``account_window_seconds``
    max_account_failures: int = 20
    account_window_seconds: int = 3600
    #: an address that logged into the account within so many days is exempt from
    #: the account-wide limit (still under the per-address one)
    known_address_days: int = 30
    #: failed exam codes from one address per window
    max_code_failures: int = 10


#: the one reply for every throttled login: it never says whether the number exists
THROTTLED = "登录尝试过多，已临时锁定，请稍后再试。"
BAD_LOGIN = "人员编号或密码错误。"
CODE_LOGIN = "code"


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符。")
    if password.isdigit() or password.isalpha():
        raise InvalidInput("密码需同时包含字母和数字。")


def generate_password(length: int = 10) -> str:
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
    digits = "23456789"
    while True:
        pw = "".join(secrets.choice(alphabet + digits) for _ in range(length))
        if any(c in digits for c in pw) and any(c in alphabet for c in pw):
            return pw


def hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode("utf-8")).hexdigest()


def account_for_person_no(
    session: Session, person_no: str, *, lock: bool = False
) -> UserAccount | None:
    stmt = (
        select(UserAccount)
        .join(Person, UserAccount.person_id == Person.id)
        .where(Person.person_no == person_no)
        .options(selectinload(UserAccount.grants))
    )
    if lock:
        # Serialise concurrent attempts on one account so no failure is lost.
        stmt = stmt.with_for_update(of=UserAccount)
    return session.scalar(stmt)


def ensure_account(session: Session, person: Person) -> UserAccount:
    account = session.scalar(select(UserAccount).where(UserAccount.person_id == person.id))
    if account is None:
        account = UserAccount(person=person, grants=[RoleGrant(role=Role.candidate.value)])
        session.add(account)
        session.flush()
    return account


def set_password(
    session: Session, account: UserAccount, password: str, *, must_change: bool = False
) -> None:
    """Set the password; every session of the account ends (whoever set it: the person,
    a unit administrator issuing initial passwords, the console)."""
    check_password_strength(password)
    account.password_hash = hash_password(password)
    account.must_change_password = must_change
    account.failed_logins = 0
    account.locked_until = None
    logout_everywhere(account)


def _retry_after(
    session: Session, now: dt.datetime, seconds: int, limit: int, *conditions
) -> int | None:
    """Seconds until fewer than ``limit`` failures matching ``conditions`` lie in the
    last ``seconds`` (a sliding window); ``None`` when there are fewer already."""
    since = now - dt.timedelta(seconds=seconds)
    count, oldest = session.execute(
        select(func.count(), func.min(LoginAttempt.at)).where(
            LoginAttempt.success.is_(False), LoginAttempt.at >= since, *conditions
        )
    ).one()
    if count < limit:
        return None
    if oldest.tzinfo is None:  # SQLite hands back naive UTC
        oldest = oldest.replace(tzinfo=dt.UTC)
    return max(1, int((oldest + dt.timedelta(seconds=seconds) - now).total_seconds()) + 1)


def _check_ip_throttle(session: Session, ip: str | None, now: dt.datetime, policy: ThrottlePolicy):
    if not ip:
        return
    wait = _retry_after(
        session, now, policy.window_seconds, policy.max_ip_failures, LoginAttempt.ip == ip
    )
    if wait:
        raise TooManyRequests(THROTTLED, retry_after=wait)


def _known_address(session: Session, login: str, ip: str | None, now, policy) -> bool:
    if not ip:
        return False
    since = now - dt.timedelta(days=policy.known_address_days)
    return (
        session.scalar(
            select(LoginAttempt.id)
            .where(
                LoginAttempt.login == login,
                LoginAttempt.ip == ip,
                LoginAttempt.success.is_(True),
                LoginAttempt.at >= since,
            )
            .limit(1)
        )
        is not None
    )


def login_throttle(
    session: Session, login: str, ip: str | None, now: dt.datetime, policy: ThrottlePolicy
) -> int | None:
    """Seconds the next attempt of ``login`` from ``ip`` must wait, or ``None``."""
    _check_ip_throttle(session, ip, now, policy)
    same_login = LoginAttempt.login == login
    wait = _retry_after(
        session,
        now,
        policy.lockout_seconds,
        policy.max_failures,
        same_login,
        LoginAttempt.ip == ip if ip else LoginAttempt.ip.is_(None),
    )
    if wait is None and not _known_address(session, login, ip, now, policy):
        wait = _retry_after(
            session, now, policy.account_window_seconds, policy.max_account_failures, same_login
        )
    return wait


def check_code_throttle(
    session: Session, ip: str | None, now: dt.datetime, policy: ThrottlePolicy | None = None
) -> None:
    """Refuse an exam-code login from an address with too many failed codes."""
    policy = policy or ThrottlePolicy()
    _check_ip_throttle(session, ip, now, policy)
    wait = _retry_after(
        session,
        now,
        policy.window_seconds,
        policy.max_code_failures,
        LoginAttempt.login == CODE_LOGIN,
        LoginAttempt.ip == ip if ip else LoginAttempt.ip.is_(None),
    )
    if wait:
        raise TooManyRequests(THROTTLED, retry_after=wait)


def authenticate(
    session: Session,
    person_no: str,
    password: str,
    *,
    now: dt.datetime,
    ip: str | None = None,
    policy: ThrottlePolicy | None = None,
) -> UserAccount:
    """Check a password login under the throttle of the module docstring: unknown,
    wrong and throttled logins cost one password hash each, and a throttled login
    answers the same whether the person number exists or not. Failures are recorded
    (by the caller's commit) in ``login_attempts``; a refused attempt is not, so
    waiting the ``retry_after`` always helps."""
    policy = policy or ThrottlePolicy()
    person_no = (person_no or "").strip()[:64]
    password = (password or "")[:1024]
    wait = login_throttle(session, person_no, ip, now, policy)
    if wait:
        check_password_hash(_DUMMY_HASH, password)
        raise TooManyRequests(THROTTLED, retry_after=wait)
    account = account_for_person_no(session, person_no, lock=True)
    attempt = LoginAttempt(at=now, login=person_no, ip=ip, success=False)
    session.add(attempt)
    if account is None or not account.is_active or not account.password_hash:
        check_password_hash(_DUMMY_HASH, password)
        raise NotAuthenticated(BAD_LOGIN)
    if not check_password_hash(account.password_hash, password):
        account.failed_logins += 1
        raise NotAuthenticated(BAD_LOGIN)
    account.failed_logins = 0
    account.failed_window_start = None
    account.locked_until = None
    account.last_login_at = now
    session.flush()
    attempt.success = True
    return account


def record_failed_login(session: Session, login: str, ip: str | None, now: dt.datetime) -> None:
    session.add(LoginAttempt(at=now, login=login[:64], ip=ip, success=False))


def record_login(session: Session, login: str, ip: str | None, now: dt.datetime) -> None:
    """A successful login by other means than a password (an exam code)."""
    session.add(LoginAttempt(at=now, login=login[:64], ip=ip, success=True))


def roles_of(account: UserAccount) -> set[str]:
    return {g.role for g in account.grants}


def logout_everywhere(account: UserAccount) -> None:
    account.session_version += 1


def grant_role(
    session: Session, account: UserAccount, role: str, unit: OrgUnit | None = None
) -> RoleGrant:
    if role not in {r.value for r in Role}:
        raise InvalidInput(f"未知角色：{role}（可选：candidate、unit_admin、analyst、admin）")
    if role == Role.unit_admin and unit is None:
        raise InvalidInput("单位管理员必须指定所管理的单位（--unit）。")
    unit_id = unit.id if (unit is not None and role == Role.unit_admin) else None
    for g in account.grants:
        if g.role == role and g.unit_id == unit_id:
            return g
    grant = RoleGrant(role=role, unit_id=unit_id)
    account.grants.append(grant)
    session.flush()
    return grant


def get_unit_by_code(session: Session, code: str) -> OrgUnit:
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if unit is None:
        raise NotFound(f"单位代码不存在：{code}")
    return unit


# ---------------------------------------------------------------- administration


def person_by_no(session: Session, person_no: str) -> Person:
    person = session.scalar(select(Person).where(Person.person_no == (person_no or "").strip()))
    if person is None:
        raise NotFound(f"人员编号不存在：{person_no}")
    return person


def people_of_unit(
    session: Session, unit: OrgUnit, *, include_subtree: bool = True, active_only: bool = True
) -> list[Person]:
    """The people of ``unit`` (and its subtree), ordered by unit path and person number."""
    stmt = select(Person).join(OrgUnit, Person.unit_id == OrgUnit.id)
    if include_subtree:
        stmt = stmt.where(OrgUnit.path.like(f"{unit.path}%"))
    else:
        stmt = stmt.where(Person.unit_id == unit.id)
    if active_only:
        stmt = stmt.where(Person.is_active.is_(True))
    return list(session.scalars(stmt.order_by(OrgUnit.path, Person.person_no)))


def issue_initial_passwords(
    session: Session,
    people: list[Person],
    *,
    actor=None,
    now: dt.datetime | None = None,
    reset_existing: bool = False,
) -> list[tuple[Person, str]]:
    """A fresh random password for each person, to be changed at first login. The
    plain passwords are returned once (for the slips) and never stored.

    People who already chose their own password are left alone unless
    ``reset_existing``; accounts holding an administrative role (unit admin, analyst,
    admin) are never reset in bulk, so an administrator cannot lock themselves out."""
    from core.audit import record

    issued = []
    for person in people:
        account = ensure_account(session, person)
        if roles_of(account) - {Role.candidate.value}:
            continue
        if account.password_hash and not account.must_change_password and not reset_existing:
            continue
        password = generate_password()
        set_password(session, account, password, must_change=True)
        issued.append((person, password))
    session.flush()
    record(
        session,
        actor,
        "account.issue_passwords",
        "person",
        None,
        after={"count": len(issued), "person_nos": [p.person_no for p, _ in issued][:1000]},
        at=now,
    )
    return issued


def force_logout(session: Session, account: UserAccount, *, actor=None) -> None:
    """Log a user out of every device (their session cookies stop being accepted)."""
    from core.audit import record

    before = account.session_version
    logout_everywhere(account)
    session.flush()
    record(
        session,
        actor,
        "account.logout_everywhere",
        "user_account",
        account.id,
        before={"session_version": before},
        after={"session_version": account.session_version},
    )


def account_of(session: Session, person: Person) -> UserAccount | None:
    """The account of ``person`` with its grants and their units (None if none yet)."""
    return session.scalar(
        select(UserAccount)
        .where(UserAccount.person_id == person.id)
        .options(selectinload(UserAccount.grants).selectinload(RoleGrant.unit))
    )


def reset_password(
    session: Session,
    person: Person,
    password: str,
    *,
    must_change: bool = False,
    actor=None,
    now: dt.datetime | None = None,
) -> UserAccount:
    """Set ``person``'s password (console recovery): their other sessions end. Audited."""
    from core.audit import record

    account = ensure_account(session, person)
    set_password(session, account, password, must_change=must_change)
    logout_everywhere(account)
    session.flush()
    record(
        session,
        actor,
        "account.set_password",
        "user_account",
        account.id,
        after={"person_no": person.person_no, "must_change": must_change},
        at=now,
    )
    return account


PASSWORD_SLIP_HEADERS = ["人员编号", "姓名", "单位", "初始密码", "说明"]


def issue_unit_passwords(
    session: Session,
    unit: OrgUnit,
    *,
    scope: Scope,
    actor=None,
    now: dt.datetime,
    reset_existing: bool = False,
) -> list[tuple[Person, str]]:
    """Initial passwords for the active people of ``unit``'s subtree (see
    ``issue_initial_passwords``); the caller must manage the unit. Used by the web page
    and ``jifa user issue-passwords`` alike."""
    require_unit(scope, unit, manage=True)
    return issue_initial_passwords(
        session, people_of_unit(session, unit), actor=actor, now=now, reset_existing=reset_existing
    )


def password_slip_sheet(issued: list[tuple[Person, str]]) -> SheetSpec:
    """The printable list of issued initial passwords."""
    rows = [
        [p.person_no, p.name, full_name(p.unit), pw, "首次登录后须修改密码"] for p, pw in issued
    ]
    return SheetSpec("初始密码", PASSWORD_SLIP_HEADERS, rows)
