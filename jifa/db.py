"""Kept for the applied migration ``0001``, which names ``jifa.db.UTCDateTime``;
applied migrations are never edited. New code and new migrations use ``core.db``."""

from core.db import UTCDateTime

__all__ = ["UTCDateTime"]
