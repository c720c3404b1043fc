"""URL converters: ``<int:...>`` accepts only ids a database column can hold, so
``/exams/10000000000000000000000000000`` is a plain 404 from the router, never an
overflow in the driver."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

#: the largest id (a BIGINT)
MAX_ID = 2**63 - 1


class BoundedIntegerConverter(IntegerConverter):
    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002 - Werkzeug's names
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
