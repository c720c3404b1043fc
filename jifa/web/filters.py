"""Template filters: dates in China Standard Time, labels, name masking; and the
question kinds (``question_kinds``, ``question_kinds_page``) as Jinja globals, so
templates and the runner's script take type labels from ``question_bank.kinds``."""

from __future__ import annotations

import datetime as dt

from flask import Flask, url_for

from question_bank import kinds

CST = dt.timezone(dt.timedelta(hours=8), "CST")


def local_time(value: dt.datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if not value:
        return "—"
    if isinstance(value, str):  # ISO strings from JSON-shaped service results
        value = dt.datetime.fromisoformat(value)
    return value.astimezone(CST).strftime(fmt)


def mask_name(name: str) -> str:
    """张三明 -> 张*明, 张三 -> 张*, keeping the first and last characters."""
    if not name:
        return name
    if len(name) == 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def init_app(app: Flask) -> None:
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(mask_name, "mask_name")
    #: code -> kind (labels, response_text ...): ``_labels.html`` reads it
    app.jinja_env.globals["question_kinds"] = kinds.KINDS
    #: the labels the runner's script shows (a ``<meta>`` of ``base.html``)
    app.jinja_env.globals["question_kinds_page"] = kinds.page_data()

    @app.context_processor
    def _helpers():
        def endpoint_url(endpoint: str, **values) -> str | None:
            """URL of an endpoint if the app has it (menus list only what exists)."""
            if endpoint not in app.view_functions:
                return None
            return url_for(endpoint, **values)

        return {"endpoint_url": endpoint_url}
