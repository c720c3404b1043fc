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
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import Actor, record
from core.errors import InvalidInput
from core.excel import RowError, read_tables
from core.org.models import RANK_BY_LABEL, UNIT_KIND_LABELS, OrgUnit, Person, Rank, UnitKind
from core.org.services import create_unit

TREE_ALIASES = {
    "code": ["单位代码", "代码", "编码", "单位编码", "code"],
    "name": ["单位名称", "名称", "name"],
    "kind": ["单位类型", "类型", "类别", "kind"],
    "parent": ["上级单位", "上级", "上级代码", "上级单位代码", "parent"],
    "sort": ["排序", "顺序", "sort"],
}
TREE_REQUIRED = ("code", "name", "kind")

ROSTER_ALIASES = {
    "name": ["姓名", "name"],
    "person_no": ["人员编号", "编号", "工号", "person_no"],
    "unit": ["单位", "所在单位", "单位代码", "unit"],
    "rank": ["职级", "层级", "rank"],
    "party": ["是否党员", "党员", "party_member"],
    "position": ["职务", "position"],
    "contact": ["联系方式", "联系电话", "电话", "手机", "contact"],
}
ROSTER_REQUIRED = ("name", "person_no", "unit", "rank")

KIND_BY_LABEL = {label: kind.value for kind, label in UNIT_KIND_LABELS.items()}
KIND_BY_LABEL.update({"园区": "park", "支部": "branch", "党总支": "branch", "党委": "unit"})
KIND_BY_LABEL.update({k.value: k.value for k in UnitKind})

#: detail labels recognised in the 职级 column and the rank they belong to
RANK_DETAILS = {
    "正处": Rank.county,
    "副处": Rank.county,
    "正科": Rank.township,
    "副科": Rank.township,
}
_RANK_ALIASES = {
    **RANK_BY_LABEL,
    **{r.value: r for r in Rank},
    "处级": Rank.county,
    "县处": Rank.county,
    "科级": Rank.township,
    "乡科": Rank.township,
    "一般": Rank.general,
    "其他": Rank.other,
}
RANK_HELP = "县处级、乡科级、一般干部、其他公职人员（可注明正处、副处、正科、副科）"

_TRUE = {"是", "y", "yes", "true", "1", "党员", "中共党员", "√"}
_FALSE = {"否", "n", "no", "false", "0", "非党员", "群众", "×"}


def parse_rank(text: object) -> tuple[str, str | None] | None:
    """``乡科级（正科）`` → ("township", "正科"); ``副科`` → ("township", "副科");
    ``一般干部`` → ("general", None). None if not recognised."""
    if text is None:
        return None
    s = re.sub(r"[\s（）()/、,，\-—]", "", str(text))
    if not s:
        return None
    detail = None
    for label, rank in RANK_DETAILS.items():
        if label in s:
            detail = label
            rest = s.replace(label, "", 1)
            if rest in ("", "级"):  # 正科 / 正科级
                return rank.value, detail
            # 乡科级正科, 乡科级（副科）: the base rank must agree with the detail
            if _RANK_ALIASES.get(rest) != rank:
                return None
            return rank.value, detail
    base = _RANK_ALIASES.get(s)
    if base is None:
        return None
    return base.value, None


def parse_bool(text: object) -> bool | None:
    if isinstance(text, bool):
        return text
    s = str(text).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    return None


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


@dataclass
class _UnitNode:
    code: str
    name: str
    kind: str
    parent_code: str | None
    sort: int = 0
    existing: OrgUnit | None = None


def _text(value: object) -> str | None:
    if value is None:
        return None
    s = str(value).strip()
    return s or None


class _UnitIndex:
    """Existing units plus the tree sheet's units, resolvable by code or by full path
    (names below the root, e.g. ``城关镇/城关镇机关党支部``)."""

    def __init__(self, session: Session):
        self.nodes: dict[str, _UnitNode] = {}
        for u in session.scalars(select(OrgUnit)):
            parent_code = u.parent.code if u.parent is not None else None
            self.nodes[u.code] = _UnitNode(u.code, u.name, u.kind, parent_code, u.sort_order, u)
        self._paths: dict[str, str] | None = None

    def add(self, node: _UnitNode) -> None:
        self.nodes[node.code] = node
        self._paths = None

    def full_path(self, code: str) -> str:
        names: list[str] = []
        seen: set[str] = set()
        node = self.nodes.get(code)
        while node is not None and node.parent_code is not None and node.code not in seen:
            seen.add(node.code)
            names.append(node.name)
            node = self.nodes.get(node.parent_code)
        return "/".join(reversed(names)) or (self.nodes[code].name if code in self.nodes else "")

    def resolve(self, ref: str) -> str | None:
        """The code of the unit named by ``ref`` (a code or a full path)."""
        ref = ref.strip()
        if ref in self.nodes:
            return ref
        if self._paths is None:
            self._paths = {}
            for code in self.nodes:
                self._paths.setdefault(self.full_path(code), code)
                # the bare name of a unit, when it is unique, is accepted too
            names: dict[str, list[str]] = {}
            for code, node in self.nodes.items():
                names.setdefault(node.name, []).append(code)
            for name, codes in names.items():
                if len(codes) == 1:
                    self._paths.setdefault(name, codes[0])
        normalised = "/".join(p.strip() for p in re.split(r"[/／>＞]", ref) if p.strip())
        return self._paths.get(normalised)

    def covered(self, code: str, scope_codes: set[str] | None) -> bool:
        """Whether unit ``code`` lies in a subtree rooted at one of ``scope_codes``."""
        if scope_codes is None:
            return True
        seen: set[str] = set()
        node = self.nodes.get(code)
        while node is not None and node.code not in seen:
            if node.code in scope_codes:
                return True
            seen.add(node.code)
            node = self.nodes.get(node.parent_code) if node.parent_code else None
        return False


def _scope_codes(session: Session, scope) -> set[str] | None:
    if scope is None or scope.everything:
        return None
    codes = set()
    for path in scope.unit_paths:
        unit_id = int(path.strip("/").split("/")[-1])
        unit = session.get(OrgUnit, unit_id)
        if unit is not None:
            codes.add(unit.code)
    return codes


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
    index = _UnitIndex(session)
    scope_codes = _scope_codes(session, scope)

    # ---- tree rows
    tree_ok: list[tuple[_UnitNode, bool]] = []
    seen_codes: dict[str, tuple[str, int]] = {}
    for sheet in tree_sheets:
        for row in sheet.rows:
            report.tree_rows += 1
            v = row.values
            problems = []
            code, name = _text(v.get("code")), _text(v.get("name"))
            kind_text, parent_ref = _text(v.get("kind")), _text(v.get("parent"))
            if not code:
                problems.append("缺少单位代码")
            if not name:
                problems.append("缺少单位名称")
            kind = KIND_BY_LABEL.get(kind_text or "")
            if kind is None:
                problems.append(
                    f"未知单位类型：{kind_text or '（空）'}（可选：区、镇、街道、区园、部门、单位、党支部）"
                )
            if code and code in seen_codes:
                first_sheet, first_row = seen_codes[code]
                problems.append(f"单位代码 {code} 与工作表「{first_sheet}」第 {first_row} 行重复")
            parent_code = None
            if parent_ref:
                parent_code = index.resolve(parent_ref)
                if parent_code is None:
                    problems.append(f"未知上级单位：{parent_ref}")
                elif parent_code == code:
                    problems.append("上级单位不能是自己")
            elif kind != UnitKind.district.value:
                existing = index.nodes.get(code) if code else None
                if existing is None or existing.parent_code is not None:
                    problems.append("缺少上级单位（只有区可以没有上级）")
            existing_node = index.nodes.get(code) if code else None
            if (
                existing_node is not None
                and existing_node.existing is not None
                and parent_code
                and existing_node.parent_code != parent_code
            ):
                problems.append("暂不支持通过导入调整已有单位的上级单位")
            if scope_codes is not None and not problems:
                target = parent_code if existing_node is None else code
                if not target or not index.covered(target, scope_codes):
                    problems.append("该单位不在您的管理范围内")
            if code:
                seen_codes.setdefault(code, (sheet.name, row.number))
            if problems:
                report.errors.append(RowError(sheet.name, row.number, "；".join(problems)))
                continue
            sort_text = _text(v.get("sort"))
            try:
                sort = int(float(sort_text)) if sort_text else 0
            except ValueError:
                report.errors.append(RowError(sheet.name, row.number, f"排序应为整数：{sort_text}"))
                continue
            node = _UnitNode(
                code, name, kind, parent_code, sort, existing_node and existing_node.existing
            )
            if existing_node is not None and existing_node.parent_code is None and not parent_ref:
                node.parent_code = None
            index.add(node)
            tree_ok.append((node, existing_node is not None))

    # ---- roster rows
    existing_people = {p.person_no: p for p in session.scalars(select(Person).order_by(Person.id))}
    people_ok: list[dict] = []
    seen_people: dict[str, tuple[str, int]] = {}
    for sheet in roster_sheets:
        has_contact = "contact" in sheet.headers
        has_party = "party" in sheet.headers
        has_position = "position" in sheet.headers
        for row in sheet.rows:
            report.roster_rows += 1
            v = row.values
            problems = []
            name, person_no = _text(v.get("name")), _text(v.get("person_no"))
            unit_ref, rank_text = _text(v.get("unit")), _text(v.get("rank"))
            if not name:
                problems.append("缺少姓名")
            if not person_no:
                problems.append("缺少人员编号")
            elif person_no in seen_people:
                first_sheet, first_row = seen_people[person_no]
                problems.append(
                    f"人员编号 {person_no} 重复（与工作表「{first_sheet}」第 {first_row} 行）"
                )
            unit_code = None
            if not unit_ref:
                problems.append("缺少单位")
            else:
                unit_code = index.resolve(unit_ref)
                if unit_code is None:
                    problems.append(f"未知单位：{unit_ref}")
                elif not index.covered(unit_code, scope_codes):
                    problems.append(f"单位「{unit_ref}」不在您的管理范围内")
            rank = parse_rank(rank_text)
            if rank is None:
                problems.append(f"未知职级：{rank_text or '（空）'}（可选：{RANK_HELP}）")
            party = None
            if has_party and v.get("party") is not None:
                party = parse_bool(v.get("party"))
                if party is None:
                    problems.append(f"是否党员应填写「是」或「否」：{v.get('party')}")
            current = existing_people.get(person_no) if person_no else None
            if (
                current is not None
                and scope_codes is not None
                and not index.covered(current.unit.code, scope_codes)
            ):
                problems.append(f"人员编号 {person_no} 属于您管理范围以外的单位")
            if person_no:
                seen_people.setdefault(person_no, (sheet.name, row.number))
            if problems:
                report.errors.append(RowError(sheet.name, row.number, "；".join(problems)))
                continue
            people_ok.append(
                {
                    "person_no": person_no,
                    "name": name,
                    "unit_code": unit_code,
                    "rank": rank[0],
                    "rank_detail": rank[1],
                    "party": party,
                    "position": _text(v.get("position")) if has_position else ...,
                    "contact": _text(v.get("contact")) if has_contact else ...,
                }
            )

    if (report.errors and not skip_invalid) or dry_run:
        _count_only(report, tree_ok, people_ok, existing_people)
        return report

    # ---- apply
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


TREE_HEADERS = ["单位代码", "单位名称", "单位类型", "上级单位", "排序"]
ROSTER_HEADERS = ["姓名", "人员编号", "单位", "职级", "是否党员", "职务", "联系方式"]
