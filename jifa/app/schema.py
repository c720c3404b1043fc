"""The complete schema: importing this module registers every model on ``Base``.

Used by Alembic's ``env.py``, the test fixtures and ``jifa db`` commands. It sits in
the shell layer because it imports every domain package.
"""

import analysis.models  # noqa: F401
import core.accounts.models  # noqa: F401
import core.audit  # noqa: F401
import core.org.models  # noqa: F401
import exam.models  # noqa: F401
import question_bank.models  # noqa: F401
import study.models  # noqa: F401
from core.db import Base

metadata = Base.metadata
