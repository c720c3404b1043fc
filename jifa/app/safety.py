"""Production safety (``JIFA_ENV=production``):

- the app refuses to start with a generated secret key (``instance/secret_key``, not
  shared by several servers) unless ``JIFA_ALLOW_GENERATED_SECRET=1``, and always with
  a default or weak one (a known placeholder, or under 32 characters);
- ``jifa demo load`` refuses;
- the demo password (published in the README) never logs anyone in, so the demo
  accounts cannot be used even if demo data reached the database; ``jifa serve`` warns
  about demo accounts it finds;
- ``jifa user create-admin PERSON_NO`` creates the first real administrator.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from core.accounts.models import UserAccount
from core.org.models import Person

PRODUCTION = "production"
DEVELOPMENT = "development"
#: secrets that are never acceptable in production (placeholders of docs and tests)
DEFAULT_SECRETS = frozenset(
    {"", "dev", "development", "secret", "changeme", "change-me", "test-secret", "jifa"}
)
MIN_SECRET_LENGTH = 32


class UnsafeConfiguration(RuntimeError):
    """The configuration must not serve in production."""


def is_production(config: Mapping) -> bool:
    return str(config.get("ENV") or DEVELOPMENT).strip().lower() == PRODUCTION


def check_environment(config: Mapping) -> None:
    """Refuse to start in production with an unsafe secret key (see the module)."""
    env = str(config.get("ENV") or DEVELOPMENT).strip().lower()
    if env not in (PRODUCTION, DEVELOPMENT):
        raise UnsafeConfiguration(f"JIFA_ENV 只能是 development 或 production，而不是“{env}”。")
    if env != PRODUCTION:
        return
    secret = str(config.get("SECRET_KEY") or "")
    if secret.strip().lower() in DEFAULT_SECRETS or len(secret) < MIN_SECRET_LENGTH:
        raise UnsafeConfiguration(
            "生产环境拒绝启动：JIFA_SECRET_KEY 为默认值或过短"
            f"（至少 {MIN_SECRET_LENGTH} 个字符，例如 python -c 'import secrets; "
            "print(secrets.token_hex(32))' 的输出）。"
        )
    if config.get("SECRET_KEY_SOURCE") == "generated" and not config.get("ALLOW_GENERATED_SECRET"):
        raise UnsafeConfiguration(
            "生产环境拒绝启动：密钥是自动生成的（instance/secret_key），多台服务器之间不一致。"
            "请设置 JIFA_SECRET_KEY；只有一台服务器时可设置 JIFA_ALLOW_GENERATED_SECRET=1。"
        )


def demo_password_refused(config: Mapping, password: str) -> bool:
    """Whether ``password`` is the published demo password, in production."""
    from jifa.app.demo import DEMO_PASSWORD

    return is_production(config) and password == DEMO_PASSWORD


def demo_accounts(session: Session) -> list[str]:
    """Person numbers of the demo logins present with the demo password."""
    from jifa.app.demo import DEMO_PASSWORD, demo_person_nos

    found = []
    rows = session.execute(
        select(Person.person_no, UserAccount.password_hash)
        .join(UserAccount, UserAccount.person_id == Person.id)
        .where(Person.person_no.in_(demo_person_nos()), UserAccount.is_active.is_(True))
    )
    for person_no, password_hash in rows:
        if password_hash and check_password_hash(password_hash, DEMO_PASSWORD):
            found.append(person_no)
    return sorted(found)
