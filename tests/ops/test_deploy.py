"""The deployment examples in ``deploy/`` stay valid: nginx accepts the site (when nginx
is installed), and exam_day.py's blocks are found in it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "deploy" / "nginx" / "jifa.conf"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def test_exam_day_finds_the_marked_blocks():
    text = SITE.read_text(encoding="utf-8")
    for mark in ("upstream", "locations"):
        assert text.count(f"# >>> {mark}") == 1 and text.count(f"# <<< {mark}") == 1
    assert "server 127.0.0.1:8001;\n    server 127.0.0.1:8002;\n" in text  # replaced by the bench
    assert "X-Request-Id $request_id" in text


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed")
def test_nginx_accepts_the_site(tmp_path):
    site = SITE.read_text(encoding="utf-8")
    site = site.replace("listen 80;", "listen 127.0.0.1:65081;")
    site = site.replace("listen 443 ssl http2;", "listen 127.0.0.1:65443 ssl http2;")
    site = site.replace("/etc/ssl/jifa/fullchain.pem", str(tmp_path / "cert.pem"))
    site = site.replace("/etc/ssl/jifa/privkey.pem", str(tmp_path / "key.pem"))
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=x",
         "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    (tmp_path / "site.conf").write_text(site, encoding="utf-8")
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n include {tmp_path}/site.conf;\n}}\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [NGINX, "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
