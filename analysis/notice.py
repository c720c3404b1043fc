"""The notice (通报): a phone-friendly HTML page, its PNG charts and a plain-text version
for a WeChat article. Personal names are masked (张*明) unless ``unmask=True``."""

from __future__ import annotations

import io
import math
import zipfile
from pathlib import Path

from jinja2 import Environment, select_autoescape

NOTICE_CHARTS = ("histogram", "pass_rate_by_unit", "mastery_by_source", "unit_source_heatmap")


def mask_name(name: str) -> str:
    """张三明 -> 张*明, 张三 -> 张*, keeping the first and last characters."""
    if not name or len(name) == 1:
        return name or ""
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def _pct(v, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return f"{100 * v:.{digits}f}%"


def _num(v, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return f"{v:.{digits}f}"


def context(rep, *, unmask: bool = False, weakest: int = 5) -> dict:
    """The notice's content as plain data (shared by the HTML and the text versions)."""
    o = rep.overall
    name = (lambda n: n) if unmask else mask_name
    units = []
    for r in rep.by_unit.sort_values("shrunk_mean", ascending=False).itertuples():
        units.append(
            {
                "name": r.top_unit_name,
                "n": int(r.n),
                "mean": _num(r.mean),
                "shrunk": _num(r.shrunk_mean),
                "pass_rate": _pct(r.pass_rate),
                "interval": f"{_pct(r.pass_lo)}–{_pct(r.pass_hi)}",
                "small_n": bool(r.small_n),
            }
        )
    sources = [
        {"name": r.category, "facility": _pct(r.facility), "n_items": int(r.n_items),
         "unreliable": bool(r.unreliable)}
        for r in rep.by_source.sort_values("facility").head(weakest).itertuples()
    ]  # fmt: skip
    kps = [
        {"name": r.category, "facility": _pct(r.facility), "n_items": int(r.n_items),
         "unreliable": bool(r.unreliable)}
        for r in rep.by_knowledge_point.sort_values("facility").head(weakest).itertuples()
    ]  # fmt: skip
    part = rep.participation or {}
    absent = [
        {"name": name(a["name"]), "unit": a["unit"], "rank": a["rank"]}
        for a in part.get("absent", [])
    ]
    gaps = [
        {"unit": r.unit, "self": _num(r.self_mean), "central": _num(r.central_mean),
         "gap": _num(r.gap), "interval": f"{_num(r.gap_lo)} 至 {_num(r.gap_hi)}"}
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
        "mean": _num(o.get("mean")),
        "mean_pct": _num(o.get("mean_pct")),
        "median": _num(o.get("median")),
        "sd": _num(o.get("sd")),
        "total": f"{rep.total_points:g}",
        "pass_mark": f"{rep.pass_mark:g}",
        "pass_rate": _pct(o.get("pass_rate")),
        "pass_interval": f"{_pct(o.get('pass_lo'))}–{_pct(o.get('pass_hi'))}",
        "alpha": _num(rep.reliability.get("alpha"), 2),
        "sem": _num(rep.reliability.get("sem"), 1),
        "units": units,
        "small_units": [u["name"] for u in units if u["small_n"]],
        "sources": sources,
        "kps": kps,
        "gaps": gaps,
        "draw": rep.draw,
        "masked": not unmask,
    }


HTML = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ c.title }}</title>
<style>
body{margin:0;font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;
line-height:1.75;color:#222;background:#fff}
main{max-width:720px;margin:0 auto;padding:16px}
h1{font-size:1.35rem;text-align:center;color:#b3261e;line-height:1.4}
h2{font-size:1.1rem;border-left:4px solid #b3261e;padding-left:8px;margin-top:1.6em}
p{text-indent:2em;margin:.6em 0}
img{max-width:100%;height:auto;display:block;margin:12px auto}
.tbl{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border:1px solid #ddd;padding:4px 6px;text-align:center;white-space:nowrap}
th{background:#f6e8e7}
.note{color:#666;font-size:.85rem;text-indent:0}
code{word-break:break-all;font-size:.8rem}
</style></head>
<body><main>
<h1>{{ c.title }}</h1>
{% if c.cutoff %}<p class="note">数据截止：{{ c.cutoff }}</p>{% endif %}
<h2>一、参测情况</h2>
<p>本次测试应参测 {{ c.enrolled }} 人，实际交卷 {{ c.sat }} 人{% if c.absent %}，缺考 {{ c.absent|length }} 人{% endif %}。
{% if c.draw %}参测人员由区纪委监委按公开、可验证的随机抽样方法从各镇（街道、区园）和区直各单位乡科级干部中抽取。{% endif %}</p>
{% if c.absent %}<p class="note">缺考人员：{% for a in c.absent %}{{ a.unit }} {{ a.name }}{% if not loop.last %}；{% endif %}{% endfor %}</p>{% endif %}
<h2>二、总体成绩</h2>
<p>试卷满分 {{ c.total }} 分，及格线 {{ c.pass_mark }} 分。平均分 {{ c.mean }} 分（得分率 {{ c.mean_pct }}%），中位数 {{ c.median }} 分，标准差 {{ c.sd }} 分；及格率 {{ c.pass_rate }}（95% 置信区间 {{ c.pass_interval }}）。试卷信度 α = {{ c.alpha }}，测量标准误约 {{ c.sem }} 分。</p>
{% if charts.histogram %}<img src="{{ charts.histogram }}" alt="成绩分布图">{% endif %}
<h2>三、各单位成绩</h2>
<p>各单位按“收缩均值”排列：参测人数较少的单位，其平均分向全区平均分收缩，以免偶然因素左右排名。及格率后括注 95% 置信区间。</p>
<div class="tbl"><table><thead><tr><th>单位</th><th>人数</th><th>平均得分率</th><th>收缩均值</th><th>及格率（95% 区间）</th></tr></thead><tbody>
{% for u in c.units %}<tr><td>{{ u.name }}{% if u.small_n %}*{% endif %}</td><td>{{ u.n }}</td><td>{{ u.mean }}</td><td>{{ u.shrunk }}</td><td>{{ u.pass_rate }}（{{ u.interval }}）</td></tr>
{% endfor %}</tbody></table></div>
{% if c.small_units %}<p class="note">* 参测人数过少，数据主要反映偶然因素，仅供参考，不作排名依据。</p>{% endif %}
{% if charts.pass_rate_by_unit %}<img src="{{ charts.pass_rate_by_unit }}" alt="各单位及格率">{% endif %}
{% if c.gaps %}<p>以下单位自报成绩明显高于（或低于）其抽测干部的集中测试成绩，差异超出随机波动范围：{% for g in c.gaps %}{{ g.unit }}（自报 {{ g.self }}%，集中测试 {{ g.central }}%，差值 {{ g.gap }}，95% 区间 {{ g.interval }}）{% if not loop.last %}；{% endif %}{% endfor %}。</p>{% endif %}
<h2>四、薄弱环节</h2>
<p>掌握程度较低的法规：{% for s in c.sources %}{{ s.name }}（{{ s.facility }}，{{ s.n_items }} 题{% if s.unreliable %}，题目较少仅供参考{% endif %}）{% if not loop.last %}；{% endif %}{% endfor %}。</p>
<p>掌握程度较低的知识点：{% for s in c.kps %}{{ s.name }}（{{ s.facility }}，{{ s.n_items }} 题{% if s.unreliable %}，题目较少仅供参考{% endif %}）{% if not loop.last %}；{% endif %}{% endfor %}。</p>
{% if charts.mastery_by_source %}<img src="{{ charts.mastery_by_source }}" alt="各法规掌握程度">{% endif %}
{% if charts.unit_source_heatmap %}<img src="{{ charts.unit_source_heatmap }}" alt="单位与法规掌握程度热力图">{% endif %}
<p>请各单位对照薄弱环节，组织干部认真学习党章党规党纪和相关法律法规，切实增强纪法意识。</p>
{% if c.draw %}<h2>五、抽样公证信息</h2>
<p class="note">名册 SHA-256：<code>{{ c.draw.roster_sha256 }}</code><br>
抽样规则：{{ c.draw.quota_rule }}；公开随机数：<code>{{ c.draw.entropy }}</code><br>
种子：<code>{{ c.draw.seed }}</code><br>
任何人均可用公布的名册、种子和规则，以 scripts/verify_sample.py 复核抽样结果。</p>{% endif %}
</main></body></html>
"""


def render_html(ctx: dict, chart_files: dict[str, str]) -> str:
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    return env.from_string(HTML).render(c=ctx, charts=chart_files)


def render_text(ctx: dict) -> str:
    c = ctx
    lines = [c["title"], ""]
    if c["cutoff"]:
        lines.append(f"（数据截止：{c['cutoff']}）")
    lines += [
        "一、参测情况",
        f"本次测试应参测 {c['enrolled']} 人，实际交卷 {c['sat']} 人"
        + (f"，缺考 {len(c['absent'])} 人。" if c["absent"] else "。"),
    ]
    if c["absent"]:
        lines.append("缺考人员：" + "；".join(f"{a['unit']} {a['name']}" for a in c["absent"]))
    lines += [
        "",
        "二、总体成绩",
        f"试卷满分 {c['total']} 分，及格线 {c['pass_mark']} 分。平均分 {c['mean']} 分（得分率 "
        f"{c['mean_pct']}%），中位数 {c['median']} 分，标准差 {c['sd']} 分；及格率 "
        f"{c['pass_rate']}（95% 置信区间 {c['pass_interval']}）。",
        "",
        "三、各单位成绩（按收缩均值排列，括号内为及格率 95% 置信区间）",
    ]
    for i, u in enumerate(c["units"], start=1):
        lines.append(
            f"{i}. {u['name']}{'*' if u['small_n'] else ''}：{u['n']} 人，平均得分率 {u['mean']}%，"
            f"收缩均值 {u['shrunk']}%，及格率 {u['pass_rate']}（{u['interval']}）"
        )
    if c["small_units"]:
        lines.append("* 参测人数过少，仅供参考，不作排名依据。")
    for g in c["gaps"]:
        lines.append(
            f"{g['unit']}：自报 {g['self']}%，集中测试 {g['central']}%，差值 {g['gap']}"
            f"（95% 区间 {g['interval']}），超出随机波动。"
        )
    lines += ["", "四、薄弱环节"]
    lines.append(
        "掌握程度较低的法规："
        + "；".join(f"{s['name']}（{s['facility']}，{s['n_items']} 题）" for s in c["sources"])
    )
    lines.append(
        "掌握程度较低的知识点："
        + "；".join(f"{s['name']}（{s['facility']}，{s['n_items']} 题）" for s in c["kps"])
    )
    if c["draw"]:
        d = c["draw"]
        lines += [
            "",
            "五、抽样公证信息",
            f"名册 SHA-256：{d['roster_sha256']}",
            f"抽样规则：{d['quota_rule']}",
            f"公开随机数：{d['entropy']}",
            f"种子：{d['seed']}",
        ]
    return "\n".join(lines) + "\n"


def files(rep, charts: dict[str, bytes], *, unmask: bool = False) -> dict[str, bytes]:
    """All files of the notice, by relative path."""
    ctx = context(rep, unmask=unmask)
    chart_files = {k: f"charts/{k}.png" for k in NOTICE_CHARTS if k in charts}
    out = {
        "notice.html": render_html(ctx, chart_files).encode("utf-8"),
        "notice.txt": render_text(ctx).encode("utf-8"),
    }
    for k, rel in chart_files.items():
        out[rel] = charts[k]
    return out


def write(
    rep, out_dir: str | Path, charts: dict[str, bytes], *, unmask: bool = False
) -> list[Path]:
    out_dir = Path(out_dir)
    written = []
    for rel, data in files(rep, charts, unmask=unmask).items():
        p = out_dir / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        written.append(p)
    return written


def zip_bytes(rep, charts: dict[str, bytes], *, unmask: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel, data in files(rep, charts, unmask=unmask).items():
            zf.writestr(f"notice/{rel}", data)
    return buf.getvalue()
