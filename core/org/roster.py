"""Import of the org tree and the roster from one workbook (or CSV).

Same discipline as the bank import: every row is validated first, every bad row is
reported (sheet, row number as the spreadsheet shows it, reason), and nothing is
written unless all rows pass or ``skip_invalid`` is set.

Sheets are recognised by their headers: a *tree* sheet has 单位代码 / 单位名称 /
单位类型 (and 上级单位); a *roster* sheet has 姓名 / 人员编号 / 单位 / 职级. One file may
hold both; the tree is applied first so the roster may name the new units.

Re-importing updates people in place (matched by 人员编号). A person who moves unit
keeps their history: attempts and enrolments store the unit at the time of sitting.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import Actor, record
from core.errors import InvalidInput
from core.excel import RowError, read_tables
from core.org.models import UNIT_KIND_LABELS, OrgUnit, Person, UnitKind
from core.org.roster_rows import (
    ROSTER_ALIASES,
    ROSTER_REQUIRED,
    TREE_ALIASES,
    TREE_REQUIRED,
    UnitIndex,
    UnitNode,
    check_roster_rows,
    check_tree_rows,
    scope_codes,
)
from core.org.services import create_unit

TREE_HEADERS = ["单位代码", "单位名称", "单位类型", "上级单位", "排序"]
ROSTER_HEADERS = ["姓名", "人员编号", "单位", "职级", "是否党员", "职务", "联系方式"]


@dataclass
class ImportReport:
    dry_run: bool = False
    skip_invalid: bool = False
    #: True when changes were applied (no errors, or ``skip_invalid``) and not a dry run
    written: bool = False
    units_created: int = 0
    units_updated: int = 0
    people_created: int = 0
    people_updated: int = 0
    people_moved: int = 0
    unchanged: int = 0
    tree_rows: int = 0
    roster_rows: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "dry_run": self.dry_run,
            "written": self.written,
            "tree_rows": self.tree_rows,
            "roster_rows": self.roster_rows,
            "units_created": self.units_created,
            "units_updated": self.units_updated,
            "people_created": self.people_created,
            "people_updated": self.people_updated,
            "people_moved": self.people_moved,
            "unchanged": self.unchanged,
            "errors": [e.as_dict() for e in self.errors],
        }


def _read_sheets(source: str | Path | bytes, filename: str | None) -> tuple[list, list]:
    """-> (tree sheets, roster sheets), recognised by their headers."""
    tree_sheets = read_tables(source, TREE_ALIASES, required=TREE_REQUIRED, filename=filename)
    # A roster's 单位代码 header must not make a tree sheet look like a roster.
    roster_sheets = [
        s
        for s in read_tables(source, ROSTER_ALIASES, required=ROSTER_REQUIRED, filename=filename)
        if s.name not in {t.name for t in tree_sheets}
    ]
    if not tree_sheets and not roster_sheets:
        raise InvalidInput(
            "文件中没有可识别的工作表：组织树需要列「单位代码、单位名称、单位类型、上级单位」，"
            "人员名册需要列「姓名、人员编号、单位、职级」。"
        )
    return tree_sheets, roster_sheets


def _apply_units(
    session: Session, index: UnitIndex, tree_ok: list[tuple[UnitNode, bool]], report: ImportReport
) -> dict[str, OrgUnit]:
    """Create and update the tree's units, parents before children. -> units by code."""
    units_by_code: dict[str, OrgUnit] = {
        code: node.existing for code, node in index.nodes.items() if node.existing is not None
    }
    pending = [n for n, _ in tree_ok]
    # create parents before children (the sheet may list them in any order)
    while pending:
        progressed = False
        for node in list(pending):
            if node.parent_code is not None and node.parent_code not in units_by_code:
                continue
            parent = units_by_code.get(node.parent_code) if node.parent_code else None
            unit = units_by_code.get(node.code)
            if unit is None:
                unit = create_unit(
                    session,
                    code=node.code,
                    name=node.name,
                    kind=node.kind,
                    parent=parent,
                    sort_order=node.sort,
                )
                units_by_code[node.code] = unit
                report.units_created += 1
            elif (unit.name, unit.kind, unit.sort_order) != (node.name, node.kind, node.sort):
                unit.name, unit.kind, unit.sort_order = node.name, node.kind, node.sort
                report.units_updated += 1
            pending.remove(node)
            progressed = True
        if not progressed:  # a cycle among new units: report instead of looping
            for node in pending:
                report.errors.append(RowError("组织树", 0, f"单位 {node.code} 的上级形成循环"))
            report.written = False
            raise InvalidInput(
                "组织树中的上级关系形成循环。", details=[str(e) for e in report.errors]
            )

    return units_by_code


def _apply_people(
    session: Session,
    people_ok: list[dict],
    existing_people: dict[str, Person],
    units_by_code: dict[str, OrgUnit],
    report: ImportReport,
) -> list[dict]:
    """Create new people and update known ones in place. -> the unit moves."""
    moves = []
    for item in people_ok:
        unit = units_by_code[item["unit_code"]]
        person = existing_people.get(item["person_no"])
        if person is None:
            person = Person(
                person_no=item["person_no"],
                name=item["name"],
                unit=unit,
                rank=item["rank"],
                rank_detail=item["rank_detail"],
                is_party_member=True if item["party"] is None else item["party"],
                position=None if item["position"] is ... else item["position"],
                contact=None if item["contact"] is ... else item["contact"],
            )
            session.add(person)
            existing_people[person.person_no] = person
            report.people_created += 1
            continue
        changed = False
        if person.unit_id != unit.id:
            moves.append({"person_no": person.person_no, "from": person.unit.code, "to": unit.code})
            person.unit = unit
            report.people_moved += 1
            changed = True
        updates = {
            "name": item["name"],
            "rank": item["rank"],
            "rank_detail": item["rank_detail"],
        }
        if item["party"] is not None:
            updates["is_party_member"] = item["party"]
        if item["position"] is not ...:
            updates["position"] = item["position"]
        if item["contact"] is not ...:
            updates["contact"] = item["contact"]
        for attr, value in updates.items():
            if getattr(person, attr) != value:
                setattr(person, attr, value)
                changed = True
        if not person.is_active:
            person.is_active = True
            changed = True
        if changed:
            report.people_updated += 1
        else:
            report.unchanged += 1
    return moves


def import_org(
    session: Session,
    source: str | Path | bytes,
    *,
    filename: str | None = None,
    dry_run: bool = False,
    skip_invalid: bool = False,
    scope=None,
    actor: Actor | None = None,
    now: dt.datetime | None = None,
) -> ImportReport:
    """Validate and (unless ``dry_run`` or a bad row without ``skip_invalid``) apply a
    tree and/or roster workbook. ``scope`` (a ``Scope``) limits a unit admin to their
    subtree: rows naming other units are errors."""
    report = ImportReport(dry_run=dry_run, skip_invalid=skip_invalid)
    tree_sheets, roster_sheets = _read_sheets(source, filename)
    index = UnitIndex(session)
    scope_set = scope_codes(session, scope)
    tree_ok, report.tree_rows = check_tree_rows(tree_sheets, index, scope_set, report.errors)
    existing_people = {p.person_no: p for p in session.scalars(select(Person).order_by(Person.id))}
    people_ok, report.roster_rows = check_roster_rows(
        roster_sheets, index, scope_set, existing_people, report.errors
    )
    if (report.errors and not skip_invalid) or dry_run:
        _count_only(report, tree_ok, people_ok, existing_people)
        return report
    units_by_code = _apply_units(session, index, tree_ok, report)
    moves = _apply_people(session, people_ok, existing_people, units_by_code, report)
    session.flush()
    report.written = True
    record(
        session,
        actor,
        "org.import",
        "org",
        filename,
        after={
            "units_created": report.units_created,
            "units_updated": report.units_updated,
            "people_created": report.people_created,
            "people_updated": report.people_updated,
            "people_moved": report.people_moved,
            "skipped_rows": len(report.errors),
            "moves": moves[:500],
        },
        at=now,
    )
    return report


def _count_only(report: ImportReport, tree_ok, people_ok, existing_people) -> None:
    """What an apply would do (for dry runs and rejected files)."""
    for _node, existed in tree_ok:
        if existed:
            report.units_updated += 1
        else:
            report.units_created += 1
    for item in people_ok:
        person = existing_people.get(item["person_no"])
        if person is None:
            report.people_created += 1
        else:
            report.people_updated += 1
            if person.unit.code != item["unit_code"]:
                report.people_moved += 1


def tree_template_rows(session: Session) -> list[list]:
    """The current tree as import rows (an editable export)."""
    units = list(session.scalars(select(OrgUnit).order_by(OrgUnit.path)))
    return [
        [
            u.code,
            u.name,
            UNIT_KIND_LABELS.get(UnitKind(u.kind), u.kind),
            u.parent.code if u.parent else "",
            u.sort_order,
        ]
        for u in units
    ]
