"""Administration pages: the blueprints ``admin`` (pages) and ``admin_api`` (JSON),
with their routes in one module per task:

- ``org``: home, org tree and roster import, people;
- ``accounts``: users and roles, initial passwords and exam codes;
- ``exams``: create, edit, enrol, papers, open/close, extend, extra time;
- ``results``: live monitor, results, self-reported results, audit log.

``common`` holds the blueprints and what the modules share. Importing the route
modules here attaches their routes; the app factory registers ``bp`` and ``api``.
"""

from __future__ import annotations

from jifa.web.admin import accounts, exams, org, results
from jifa.web.admin.common import api, bp

ROUTE_MODULES = (org, accounts, exams, results)

__all__ = ["api", "bp"]
