"""Headers every response carries, whichever WSGI app produced it (the Flask
application or the lean autosave app): the one place for security headers.

``jifa.web.edge.Edge`` calls ``response_headers`` for every response; add CSP, HSTS,
framing rules and the like here and they apply to every route.
"""

from __future__ import annotations

#: added to every response unless the response already sets the header
ALWAYS: tuple[tuple[str, str], ...] = (("X-Content-Type-Options", "nosniff"),)


def response_headers(status: str, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers to add to a response with ``status`` (e.g. ``"200 OK"``) and the
    ``headers`` it already has."""
    present = {name.lower() for name, _ in headers}
    return [(name, value) for name, value in ALWAYS if name.lower() not in present]
