"""Static files: content-hashed names, precompressed, served by WhiteNoise.

At start-up every file under ``jifa/web/static`` is copied, under its own name and under
a name carrying a hash of its content (``app.3f2a9c1b04de.css``), into a build directory
of the instance path named by a hash of all of them (so every worker of a server shares
one build and a new release never mixes with an old one); WhiteNoise's ``Compressor``
writes gzip (and Brotli, where installed) variants beside them. WhiteNoise serves the
build at ``/static/`` ahead of Flask: the compressed variant a client accepts, ETags,
and ``Cache-Control: immutable`` for a year on hashed names (a changed file has a new
name); unhashed names keep a short max-age. ``url_for('static', filename=...)`` gives
the hashed name, so templates need no change.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path

from flask import Flask
from whitenoise import WhiteNoise
from whitenoise.compress import Compressor

#: ``name.<12 hex>.ext``: a hashed name (cached for good)
HASHED = re.compile(r"\.[0-9a-f]{12}\.[A-Za-z0-9]+$")
#: seconds a browser may keep an unhashed name without asking again
SHORT_MAX_AGE = 300


def hashed_name(rel: str, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()[:12]
    folder, _, name = rel.rpartition("/")
    stem, dot, ext = name.rpartition(".")
    hashed = f"{stem}.{digest}.{ext}" if dot and stem else f"{name}.{digest}"
    return f"{folder}/{hashed}" if folder else hashed


def build(source: Path, out_root: Path) -> tuple[Path, dict[str, str]]:
    """(build directory, {name: hashed name}) for the files under ``source``."""
    files = sorted(p for p in source.rglob("*") if p.is_file())
    manifest: dict[str, str] = {}
    whole = hashlib.sha256()
    contents: dict[str, bytes] = {}
    for path in files:
        rel = path.relative_to(source).as_posix()
        data = path.read_bytes()
        manifest[rel] = hashed_name(rel, data)
        contents[rel] = data
        whole.update(f"{rel}\0{manifest[rel]}\0".encode())
    target = out_root / whole.hexdigest()[:16]
    if not target.is_dir():
        out_root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=out_root))
        compressor = Compressor(quiet=True)
        for rel, data in contents.items():
            for name in (rel, manifest[rel]):
                dest = tmp / name
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(data)
                if compressor.should_compress(name):
                    compressor.compress(str(dest))
        try:
            os.rename(tmp, target)
        except OSError:  # another worker built the same files meanwhile
            shutil.rmtree(tmp, ignore_errors=True)
    return target, manifest


def init_app(app: Flask) -> None:
    """Build the static files and give ``url_for('static')`` their hashed names."""
    root, manifest = build(Path(app.static_folder or ""), Path(app.instance_path) / "static")
    app.extensions["jifa_static"] = (root, manifest)

    @app.url_defaults
    def _hashed(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values:
            values["filename"] = manifest.get(values["filename"], values["filename"])


def wrap(app: Flask, inner):
    """``inner`` (the WSGI app) behind WhiteNoise serving the build at the static URL."""
    root, _ = app.extensions["jifa_static"]
    return WhiteNoise(
        inner,
        root=str(root),
        prefix=app.static_url_path,
        max_age=SHORT_MAX_AGE,
        immutable_file_test=lambda _path, url: bool(HASHED.search(url)),
    )
