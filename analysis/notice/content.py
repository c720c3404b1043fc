"""What the notice says, as plain data shared by the HTML, text, Word and WeChat versions.

Personal names are masked (张*明) unless ``unmask=True``. The issuer (落款) and the date
are given by the caller (the issuer from configuration, the date from the caller's
clock); without them the notice leaves blanks for the office to fill in.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from analysis.notice import weak
from analysis.report import NO_PASS_RATE

#: shown where the caller gave no issuer or date (a draft to be completed by hand)
ISSUER_BLANK = "（发文机关署名）"
DATE_BLANK = "　　　　年　　月　　日"


def mask_name(name: str) -> str:
    """张三明 -> 张*明, 张三 -> 张*, keeping the first and last characters."""
    if not name or len(name) == 1:
        return name or ""
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def cn_date(day: dt.date | None) -> str:
    """2026-11-29 -> 2026年11月29日 (GB/T 9704-2012 7.3.5: Arabic numerals, the year in
    full, month and day without leading zeros)."""
    if day is None:
        return DATE_BLANK
    return f"{day.year}年{day.month}月{day.day}日"


def issuer_lines(issuer: str | None) -> list[str]:
    """Joint issuers (中共××区纪律检查委员会　××区监察委员会) one per line, as GB/T 9704
    sets them under each other; separated by full-width or ordinary spaces or a newline."""
    parts = [p for p in re.split(r"[\s\u3000]+", issuer or "") if p]
    return parts or [ISSUER_BLANK]


def pct(v, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return f"{100 * v:.{digits}f}%"


def num(v, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return f"{v:.{digits}f}"


def _units(rep) -> list[dict]:
    if not len(rep.by_unit):
        return []
    return [
        {
            "name": r.top_unit_name,
            "n": int(r.n),
            "mean": num(r.mean),
            "shrunk": num(r.shrunk_mean),
            "pass_rate": pct(r.pass_rate) if rep.has_pass_rate else NOT_APPLICABLE,
            "interval": f"{pct(r.pass_lo)}–{pct(r.pass_hi)}" if rep.has_pass_rate else "",
            "small_n": bool(r.small_n),
        }
        for r in rep.by_unit.sort_values("shrunk_mean", ascending=False).itertuples()
    ]


def _mastery_rows(table) -> list[dict]:
    return [
        {
            "name": r.category,
            "value": float(r.facility),
            "facility": pct(r.facility),
            "interval": f"{pct(r.lo)}–{pct(r.hi)}",
            "n_items": int(r.n_items),
            "n_answers": int(r.n_answers),
            "enough": bool(r.enough),
            "weak": bool(r.weak),
        }
        for r in table.itertuples()
    ]


def _weak_sentence(rows: list[dict], what: str, overall: str) -> str:
    """One sentence for 薄弱环节, the same in every version of the notice."""
    weak_rows = [r for r in rows if r["weak"]]
    if weak_rows:
        listed = "；".join(
            f"{r['name']}（{r['facility']}，95% 区间 {r['interval']}，{r['n_items']} 题、"
            f"{r['n_answers']} 人次作答）"
            for r in weak_rows
        )
        return f"掌握程度明显低于总体水平（{overall}）的{what}：{listed}。"
    judged = [r for r in rows if r["enough"]]
    if not judged:
        return f"各{what}的题目或作答人次较少，不足以判断是否薄弱。"
    lo = min(judged, key=lambda r: r["value"])["facility"]
    hi = max(judged, key=lambda r: r["value"])["facility"]
    span = lo if lo == hi else f"{lo}–{hi}"
    return f"各{what}掌握程度在 {span} 之间，均未明显低于总体水平（{overall}）。"


def mastery_context(rep) -> dict:
    """The weak-point part of the notice (issue 12: 'weak' only when clearly below the
    overall mastery and with at least 3 questions and 30 answers behind it)."""
    overall = weak.overall_mastery(rep.responses)
    sources = _mastery_rows(weak.assess(rep.responses, "source_name", overall))
    kps = _mastery_rows(weak.assess(rep.responses, "knowledge_points", overall))
    overall_s = pct(overall)
    return {
        "overall_mastery": overall_s,
        "sources": sources,
        "kps": kps,
        "weak_sources": [r for r in sources if r["weak"]],
        "weak_kps": [r for r in kps if r["weak"]],
        "sources_sentence": _weak_sentence(sources, "法规", overall_s),
        "kps_sentence": _weak_sentence(kps, "知识点", overall_s),
        "weak_rule": (
            "总体水平为全部题目的平均通过率；“明显低于”指该项掌握程度的 95% 置信区间整体低于"
            f"总体水平，且至少有 {weak.MIN_ITEMS} 道题、{weak.MIN_ANSWERS} 人次作答，"
            "题目或作答较少的不作判断。"
        ),
    }


def context(
    rep,
    *,
    unmask: bool = False,
    issuer: str | None = None,
    date: dt.date | None = None,
) -> dict:
    """The notice's content as plain data (shared by every version)."""
    o = rep.overall
    name = (lambda n: n) if unmask else mask_name
    units = _units(rep)
    part = rep.participation or {}
    absent = [
        {"name": name(a["name"]), "unit": a["unit"], "rank": a["rank"]}
        for a in part.get("absent", [])
    ]
    gaps = [
        {"unit": r.unit, "self": num(r.self_mean), "central": num(r.central_mean),
         "gap": num(r.gap), "interval": f"{num(r.gap_lo)} 至 {num(r.gap_hi)}"}
        for r in rep.self_vs_central.itertuples()
        if r.beyond_noise
    ]  # fmt: skip
    return {
        "title": f"关于{rep.title}情况的通报",
        "exam": rep.title,
        "cutoff": rep.cutoff,
        "enrolled": part.get("enrolled", o.get("n", 0)),
        "sat": o.get("n", 0),
        "absent": absent,
        "mean": num(o.get("mean")),
        "mean_pct": num(o.get("mean_pct")),
        "median": num(o.get("median")),
        "sd": num(o.get("sd")),
        "total": f"{rep.total_points:g}",
        "pass_mark": f"{rep.pass_mark:g}" if rep.has_pass_rate else "",
        "has_pass_rate": rep.has_pass_rate,
        "part": rep.part,
        "pass_rate": pct(o.get("pass_rate")),
        "pass_interval": f"{pct(o.get('pass_lo'))}–{pct(o.get('pass_hi'))}",
        "alpha": num(rep.reliability.get("alpha"), 2),
        "sem": num(rep.reliability.get("sem"), 1),
        "units": units,
        "small_units": [u["name"] for u in units if u["small_n"]],
        **mastery_context(rep),
        "gaps": gaps,
        "draw": rep.draw,
        "masked": not unmask,
        "issuer_lines": issuer_lines(issuer),
        "date": cn_date(date),
        "day": date,
    }


# ----------------------------------------------------------------- shared wording

UNIT_INTRO = (
    "各单位按“收缩均值”排列：参测人数较少的单位，其平均分向全区平均分收缩，以免偶然因素"
    "左右排名。及格率后括注 95% 置信区间。"
)
NOT_APPLICABLE = "不适用"
SMALL_N_NOTE = "* 参测人数过少，数据主要反映偶然因素，仅供参考，不作排名依据。"
CLOSING = "请各单位对照薄弱环节，组织干部认真学习党章党规党纪和相关法律法规，切实增强纪法意识。"
UNIT_HEADERS = ("单位", "人数", "平均得分率", "收缩均值", "及格率（95% 区间）")
MASTERY_HEADERS = ("名称", "掌握程度", "95% 区间", "题数", "作答人次")


def participation_sentence(c: dict) -> str:
    s = f"本次测试应参测 {c['enrolled']} 人，实际交卷 {c['sat']} 人"
    s += f"，缺考 {len(c['absent'])} 人。" if c["absent"] else "。"
    if c["draw"]:
        s += (
            "参测人员由区纪委监委按公开、可验证的随机抽样方法从各镇（街道、区园）和区直各单位"
            "乡科级干部中抽取。"
        )
    return s


def overall_sentence(c: dict) -> str:
    if not c["has_pass_rate"]:  # a part of the paper: the score rate only
        return (
            f"本统计只含{c['part']}的试题（满分 {c['total']} 分）。平均分 {c['mean']} 分（得分率 "
            f"{c['mean_pct']}%），中位数 {c['median']} 分，标准差 {c['sd']} 分。{NO_PASS_RATE}"
        )
    return (
        f"试卷满分 {c['total']} 分，及格线 {c['pass_mark']} 分。平均分 {c['mean']} 分（得分率 "
        f"{c['mean_pct']}%），中位数 {c['median']} 分，标准差 {c['sd']} 分；及格率 "
        f"{c['pass_rate']}（95% 置信区间 {c['pass_interval']}）。试卷信度 α = {c['alpha']}，"
        f"测量标准误约 {c['sem']} 分。"
    )


def gaps_sentence(c: dict) -> str:
    if not c["gaps"]:
        return ""
    listed = "；".join(
        f"{g['unit']}（自报 {g['self']}%，集中测试 {g['central']}%，差值 {g['gap']}，"
        f"95% 区间 {g['interval']}）"
        for g in c["gaps"]
    )
    return f"以下单位自报成绩明显高于（或低于）其抽测干部的集中测试成绩，差异超出随机波动范围：{listed}。"


def absent_sentence(c: dict) -> str:
    return "缺考人员：" + "；".join(f"{a['unit']} {a['name']}" for a in c["absent"]) + "。"


def unit_cells(u: dict) -> list[str]:
    return [
        u["name"] + ("*" if u["small_n"] else ""),
        str(u["n"]),
        f"{u['mean']}%",
        f"{u['shrunk']}%",
        f"{u['pass_rate']}（{u['interval']}）" if u["interval"] else u["pass_rate"],
    ]


def mastery_cells(r: dict) -> list[str]:
    return [r["name"], r["facility"], r["interval"], str(r["n_items"]), str(r["n_answers"])]


def draw_lines(c: dict) -> list[str]:
    d = c["draw"]
    if not d:
        return []
    return [
        f"名册 SHA-256：{d['roster_sha256']}",
        f"抽样规则：{d['quota_rule']}",
        f"公开随机数：{d['entropy']}",
        f"种子：{d['seed']}",
        "任何人均可用公布的名册、种子和规则，以 scripts/verify_sample.py 复核抽样结果。",
    ]
