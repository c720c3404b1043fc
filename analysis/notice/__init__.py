"""The notice (通报) in every form the commission publishes:

- ``notice.html`` with its PNG charts (the website; tables fit a phone),
- ``notice.txt`` (plain text),
- ``notice.docx`` (Word, GB/T 9704-2012 layout, for the office to edit and sign off),
- a WeChat article (inline styles only, pictures as separate files to upload).

Every version says the same things (``content``); names are masked (张*明) unless
``unmask=True``; the issuer and the date of the 落款 come from the caller.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

from analysis.notice import html, text, wechat, word
from analysis.notice.content import cn_date, context, mask_name

__all__ = [
    "NOTICE_CHARTS", "cn_date", "context", "mask_name", "files", "write", "zip_bytes",
    "docx_bytes", "wechat_files", "wechat_zip", "publication",
]  # fmt: skip

NOTICE_CHARTS = ("histogram", "pass_rate_by_unit", "mastery_by_source", "unit_source_heatmap")


def _ctx(rep, unmask: bool, issuer: str | None, date: dt.date | None) -> dict:
    return context(rep, unmask=unmask, issuer=issuer, date=date)


def _web(ctx: dict, charts: dict[str, bytes]) -> dict[str, bytes]:
    chart_files = {k: f"charts/{k}.png" for k in NOTICE_CHARTS if k in charts}
    out = {
        "notice.html": html.render(ctx, chart_files).encode("utf-8"),
        "notice.txt": text.render(ctx).encode("utf-8"),
    }
    for k, rel in chart_files.items():
        out[rel] = charts[k]
    return out


def files(
    rep,
    charts: dict[str, bytes],
    *,
    unmask: bool = False,
    issuer: str | None = None,
    date: dt.date | None = None,
) -> dict[str, bytes]:
    """The web notice: notice.html, notice.txt and charts/*.png, by relative path."""
    return _web(_ctx(rep, unmask, issuer, date), charts)


def docx_bytes(rep, charts: dict[str, bytes], *, unmask: bool = False,
               issuer: str | None = None, date: dt.date | None = None) -> bytes:  # fmt: skip
    """The Word notice (GB/T 9704-2012 layout)."""
    return word.to_bytes(_ctx(rep, unmask, issuer, date), charts)


def wechat_files(rep, charts: dict[str, bytes], *, unmask: bool = False,
                 issuer: str | None = None, date: dt.date | None = None) -> dict[str, bytes]:  # fmt: skip
    """The WeChat article: article.html, its pictures, article.txt and a README."""
    ctx = _ctx(rep, unmask, issuer, date)
    return wechat.files(ctx, charts, text.render(ctx))


def wechat_zip(rep, charts: dict[str, bytes], **kw) -> bytes:
    return _zip({f"wechat/{k}": v for k, v in wechat_files(rep, charts, **kw).items()})


def publication(rep, charts: dict[str, bytes], *, unmask: bool = False,
                issuer: str | None = None, date: dt.date | None = None) -> dict[str, bytes]:  # fmt: skip
    """Everything to publish, by relative path: the web notice, notice.docx and the
    WeChat article under wechat/ (the content computed once for all)."""
    ctx = _ctx(rep, unmask, issuer, date)
    out = _web(ctx, charts)
    out["notice.docx"] = word.to_bytes(ctx, charts)
    wechat_out = wechat.files(ctx, charts, out["notice.txt"].decode("utf-8"))
    out.update({f"wechat/{k}": v for k, v in wechat_out.items()})
    return out


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def write_files(entries: dict[str, bytes], out_dir: str | Path) -> list[Path]:
    out_dir = Path(out_dir)
    written = []
    for rel, data in entries.items():
        p = out_dir / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        written.append(p)
    return written


def write(rep, out_dir: str | Path, charts: dict[str, bytes], **kw) -> list[Path]:
    """Write the web notice (notice.html, notice.txt, charts/) to ``out_dir``."""
    return write_files(files(rep, charts, **kw), out_dir)


def zip_bytes(rep, charts: dict[str, bytes], **kw) -> bytes:
    """The web notice as a zip (notice/notice.html, notice/notice.txt, notice/charts/)."""
    return _zip({f"notice/{k}": v for k, v in files(rep, charts, **kw).items()})
