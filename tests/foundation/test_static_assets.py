"""Static files: hashed names in the pages, compressed and cached for good by WhiteNoise."""

from __future__ import annotations

import gzip
import re

from jifa.web.assets import hashed_name


def test_pages_reference_hashed_names_served_compressed_and_immutable(client):
    page = client.get("/login").get_data(as_text=True)
    css = re.search(r'href="(/static/app\.[0-9a-f]{12}\.css)"', page)
    assert css, "the page must link the hashed stylesheet"
    with client.get(css.group(1), headers={"Accept-Encoding": "gzip"}) as r:
        assert r.status_code == 200 and r.headers["Content-Encoding"] == "gzip"
        cache = r.headers["Cache-Control"]
        assert "immutable" in cache and "max-age=315360000" in cache
        assert r.headers["Vary"] == "Accept-Encoding" and r.headers.get("ETag")
        packed = r.data
    with client.get("/static/app.css") as plain:  # the unhashed name: a short max-age only
        assert gzip.decompress(packed) == plain.data
        assert "immutable" not in plain.headers["Cache-Control"]
    with client.get(css.group(1)) as r:  # no gzip asked for, none given
        assert r.headers.get("Content-Encoding") is None


def test_a_changed_file_gets_a_new_name():
    assert hashed_name("runner/exam.js", b"a") != hashed_name("runner/exam.js", b"b")
    assert re.fullmatch(r"runner/exam\.[0-9a-f]{12}\.js", hashed_name("runner/exam.js", b"a"))
