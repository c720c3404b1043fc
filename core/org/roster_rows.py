"""The rows of an org import: the vocabulary of the tree and roster sheets (headers,
unit kinds, ranks, yes/no) and the validation of every row, against the existing
units and the tree sheet's new ones. Nothing here writes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.excel import RowError, Sheet, is_formula_like
from core.org.models import RANK_BY_LABEL, UNIT_KIND_LABELS, OrgUnit, Person, Rank, UnitKind

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
class UnitNode:
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


class UnitIndex:
    """Existing units plus the tree sheet's units, resolvable by code or by full path
    (names below the root, e.g. ``城关镇/城关镇机关党支部``)."""

    def __init__(self, session: Session):
        self.nodes: dict[str, UnitNode] = {}
        for u in session.scalars(select(OrgUnit)):
            parent_code = u.parent.code if u.parent is not None else None
            self.nodes[u.code] = UnitNode(u.code, u.name, u.kind, parent_code, u.sort_order, u)
        self._paths: dict[str, str] | None = None

    def add(self, node: UnitNode) -> None:
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


def scope_codes(session: Session, scope) -> set[str] | None:
    if scope is None or scope.everything:
        return None
    codes = set()
    for path in scope.unit_paths:
        unit_id = int(path.strip("/").split("/")[-1])
        unit = session.get(OrgUnit, unit_id)
        if unit is not None:
            codes.add(unit.code)
    return codes


def _tree_row_problems(
    v: dict, index: UnitIndex, scope: set[str] | None, seen: dict[str, tuple[str, int]]
) -> tuple[list[str], str | None, str | None, UnitNode | None]:
    """-> (problems, kind, parent code, the unit's existing node)."""
    problems = []
    code, name = _text(v.get("code")), _text(v.get("name"))
    kind_text, parent_ref = _text(v.get("kind")), _text(v.get("parent"))
    if not code:
        problems.append("缺少单位代码")
    elif is_formula_like(code):
        problems.append(f"单位代码 {code} 不能以 = + - @ 开头")
    if not name:
        problems.append("缺少单位名称")
    elif is_formula_like(name):
        problems.append(f"单位名称 {name} 不能以 = + - @ 开头")
    kind = KIND_BY_LABEL.get(kind_text or "")
    if kind is None:
        problems.append(
            f"未知单位类型：{kind_text or '（空）'}（可选：区、镇、街道、区园、部门、单位、党支部）"
        )
    if code and code in seen:
        first_sheet, first_row = seen[code]
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
    if scope is not None and not problems:
        target = parent_code if existing_node is None else code
        if not target or not index.covered(target, scope):
            problems.append("该单位不在您的管理范围内")
    return problems, kind, parent_code, existing_node


def check_tree_rows(
    sheets: list[Sheet], index: UnitIndex, scope: set[str] | None, errors: list[RowError]
) -> tuple[list[tuple[UnitNode, bool]], int]:
    """Validate the tree sheets' rows, adding each good unit to ``index`` (so later
    rows and the roster may name it). -> ([(node, existed)], rows read)."""
    tree_ok: list[tuple[UnitNode, bool]] = []
    seen_codes: dict[str, tuple[str, int]] = {}
    rows = 0
    for sheet in sheets:
        for row in sheet.rows:
            rows += 1
            v = row.values
            problems, kind, parent_code, existing_node = _tree_row_problems(
                v, index, scope, seen_codes
            )
            code = _text(v.get("code"))
            if code:
                seen_codes.setdefault(code, (sheet.name, row.number))
            if problems:
                errors.append(RowError(sheet.name, row.number, "；".join(problems)))
                continue
            sort_text = _text(v.get("sort"))
            try:
                sort = int(float(sort_text)) if sort_text else 0
            except ValueError:
                errors.append(RowError(sheet.name, row.number, f"排序应为整数：{sort_text}"))
                continue
            node = UnitNode(
                code,
                _text(v.get("name")),
                kind,
                parent_code,
                sort,
                existing_node and existing_node.existing,
            )
            parent_ref = _text(v.get("parent"))
            if existing_node is not None and existing_node.parent_code is None and not parent_ref:
                node.parent_code = None
            index.add(node)
            tree_ok.append((node, existing_node is not None))
    return tree_ok, rows


def _person_row_problems(
    v: dict,
    index: UnitIndex,
    scope: set[str] | None,
    existing_people: dict[str, Person],
    seen: dict[str, tuple[str, int]],
    has_party: bool,
) -> tuple[list[str], str | None, tuple[str, str | None] | None, bool | None]:
    """-> (problems, unit code, (rank, detail), party member)."""
    problems = []
    name, person_no = _text(v.get("name")), _text(v.get("person_no"))
    unit_ref, rank_text = _text(v.get("unit")), _text(v.get("rank"))
    if not name:
        problems.append("缺少姓名")
    if not person_no:
        problems.append("缺少人员编号")
    elif is_formula_like(person_no):
        problems.append(f"人员编号 {person_no} 不能以 = + - @ 开头")
    elif person_no in seen:
        first_sheet, first_row = seen[person_no]
        problems.append(f"人员编号 {person_no} 重复（与工作表「{first_sheet}」第 {first_row} 行）")
    unit_code = None
    if not unit_ref:
        problems.append("缺少单位")
    else:
        unit_code = index.resolve(unit_ref)
        if unit_code is None:
            problems.append(f"未知单位：{unit_ref}")
        elif not index.covered(unit_code, scope):
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
    if current is not None and scope is not None and not index.covered(current.unit.code, scope):
        problems.append(f"人员编号 {person_no} 属于您管理范围以外的单位")
    return problems, unit_code, rank, party


def check_roster_rows(
    sheets: list[Sheet],
    index: UnitIndex,
    scope: set[str] | None,
    existing_people: dict[str, Person],
    errors: list[RowError],
) -> tuple[list[dict], int]:
    """Validate the roster sheets' rows. -> (the good rows as dicts, rows read);
    ``...`` marks a column the sheet does not have (leave the stored value)."""
    people_ok: list[dict] = []
    seen_people: dict[str, tuple[str, int]] = {}
    rows = 0
    for sheet in sheets:
        has_contact = "contact" in sheet.headers
        has_party = "party" in sheet.headers
        has_position = "position" in sheet.headers
        for row in sheet.rows:
            rows += 1
            v = row.values
            problems, unit_code, rank, party = _person_row_problems(
                v, index, scope, existing_people, seen_people, has_party
            )
            person_no = _text(v.get("person_no"))
            if person_no:
                seen_people.setdefault(person_no, (sheet.name, row.number))
            if problems:
                errors.append(RowError(sheet.name, row.number, "；".join(problems)))
                continue
            people_ok.append(
                {
                    "person_no": person_no,
                    "name": _text(v.get("name")),
                    "unit_code": unit_code,
                    "rank": rank[0],
                    "rank_detail": rank[1],
                    "party": party,
                    "position": _text(v.get("position")) if has_position else ...,
                    "contact": _text(v.get("contact")) if has_contact else ...,
                }
            )
    return people_ok, rows
