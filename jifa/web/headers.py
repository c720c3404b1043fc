"""Headers every response carries, whichever WSGI app produced it (the Flask
application or the lean autosave app): the one place for security headers.

``jifa.web.edge.Edge`` calls ``response_headers`` for every response, so no route,
error page or static file escapes them:

- ``Content-Security-Policy``: scripts, images and fonts from this site only (styles
  also inline: print sheets and a few style attributes; inline styles run no code),
  no inline script (pages load ``/static/app.js`` and friends), no plugins
  (``object-src 'none'``), never framed (``frame-ancestors 'none'``), forms post only
  here, no ``<base>`` rewriting;
- ``X-Frame-Options: DENY`` for browsers without CSP level 2;
- ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: same-origin``;
- ``Strict-Transport-Security`` when ``JIFA_SECURE_COOKIES=1`` (the site is served
  over HTTPS only).

A response that sets one of these itself keeps its own value.
"""

from __future__ import annotations

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",  # style attributes and print sheets; no script
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HSTS = "max-age=31536000; includeSubDomains"

#: added to every response unless the response already sets the header
ALWAYS: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
)
SECURE: tuple[tuple[str, str], ...] = (*ALWAYS, ("Strict-Transport-Security", HSTS))


def response_headers(
    status: str, headers: list[tuple[str, str]], *, secure: bool = False
) -> list[tuple[str, str]]:
    """The headers to add to a response with ``status`` (e.g. ``"200 OK"``) and the
    ``headers`` it already has; ``secure``: served over HTTPS only (adds HSTS)."""
    present = {name.lower() for name, _ in headers}
    wanted = SECURE if secure else ALWAYS
    return [(name, value) for name, value in wanted if name.lower() not in present]
