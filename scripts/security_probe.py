"""An outside client against a running server (``jifa serve``): no open redirect after
login, the security headers on every page it can reach, and (``--demo-refused``) the
demo logins refused. Standard library only; prints its findings and one JSON line.

    python scripts/security_probe.py http://127.0.0.1:5101 PERSON_NO PASSWORD --demo-refused
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

HOSTILE = ["https://evil.example/x", "//evil.example/x", "/\\evil.example", "/%2F%2Fevil.example",
           "/%252F%252Fevil.example", "%2F%2Fevil.example", "javascript:alert(1)",
           "/\t/evil.example", "http:evil.example", "\\\\evil.example"]  # fmt: skip
REQUIRED = {
    "content-security-policy": lambda v: (
        "frame-ancestors 'none'" in v
        and "object-src 'none'" in v
        and "script-src 'self'" in v
        and "unsafe-inline" not in v.split("script-src", 1)[1].split(";", 1)[0]
    ),
    "x-content-type-options": lambda v: v == "nosniff",
    "referrer-policy": lambda v: v == "same-origin",
    "x-frame-options": lambda v: v == "DENY",
}
DEMO = ["A0001", "A0002", "A0003", "T01-0002", "S01-0002"]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def opener():
    jar = http.cookiejar.CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)


def fetch(op, url, data=None, headers=None, method=None):
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        resp = op.open(req, timeout=30)
    except urllib.error.HTTPError as exc:
        resp = exc
    return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()


def login_json(op, base, person_no, password):
    body = json.dumps({"person_no": person_no, "password": password}).encode()
    return fetch(op, base + "/api/v1/auth/login", body, {"Content-Type": "application/json"})


def header_problems(headers):
    return [name for name, ok in REQUIRED.items() if not ok(headers.get(name, ""))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("person_no")
    parser.add_argument("password")
    parser.add_argument("--demo-refused", action="store_true")
    parser.add_argument("--pages", type=int, default=200)
    args = parser.parse_args()
    base = args.base.rstrip("/")
    result = {"redirects_checked": 0, "open_redirects": [], "pages": 0, "missing_headers": [],
              "demo_logins_accepted": []}  # fmt: skip

    for target in HOSTILE:
        op = opener()
        status, _, page = fetch(op, base + "/login")
        token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
        form = urllib.parse.urlencode(
            {"csrf_token": token, "person_no": args.person_no, "password": args.password}
        ).encode()
        url = base + "/login?" + urllib.parse.urlencode({"next": target})
        status, headers, _ = fetch(
            op, url, form, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        location = headers.get("location", "")
        result["redirects_checked"] += 1
        target_host = urllib.parse.urlsplit(urllib.parse.urljoin(base + "/", location)).netloc
        if status != 302 or target_host != urllib.parse.urlsplit(base).netloc:
            result["open_redirects"].append([target, status, location])

    op = opener()
    status, _, _ = login_json(op, base, args.person_no, args.password)
    assert status == 200, f"login failed: {status}"
    queue, seen = ["/"], set()
    while queue and len(seen) < args.pages:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        status, headers, body = fetch(op, base + path)
        missing = header_problems(headers)
        if missing:
            result["missing_headers"].append([path, status, missing])
        if "text/html" in headers.get("content-type", "") and status == 200:
            for href in re.findall(rb'href="(/[^"#]*)"', body):
                link = href.decode().replace("&amp;", "&")
                if not re.search(r"\.(xlsx|zip|docx|csv|png)$|/logout", link.split("?")[0]):
                    queue.append(link)
    for path in ("/nowhere", "/api/v1/autosave/attempts/1/answers/1", "/static/app.js"):
        status, headers, _ = fetch(op, base + path, method="PUT" if "autosave" in path else None,
                                   data=b"{}" if "autosave" in path else None)  # fmt: skip
        seen.add(path)
        if header_problems(headers):
            result["missing_headers"].append([path, status, header_problems(headers)])
    result["pages"] = len(seen)

    if args.demo_refused:
        for person_no in DEMO:
            status, _, _ = login_json(opener(), base, person_no, "Demo2026!")
            if status == 200:
                result["demo_logins_accepted"].append(person_no)

    print(f"redirects: {result['redirects_checked']} hostile next values, "
          f"{len(result['open_redirects'])} open")  # fmt: skip
    print(f"pages: {result['pages']}, {len(result['missing_headers'])} without the headers")
    if args.demo_refused:
        print(f"demo logins accepted: {result['demo_logins_accepted'] or 'none'}")
    print(json.dumps(result, ensure_ascii=False))
    bad = result["open_redirects"] or result["missing_headers"] or result["demo_logins_accepted"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
