"""The notice as a phone-friendly web page (for the commission's website).

Tables never hide a column: on a narrow screen every row becomes a small card whose
cells carry their column name (``data-label``), so nothing scrolls sideways.
"""

from __future__ import annotations

from jinja2 import Environment, select_autoescape

from analysis.notice import content

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
h3{font-size:1rem;margin:1em 0 .4em}
p{text-indent:2em;margin:.6em 0}
img{max-width:100%;height:auto;display:block;margin:12px auto}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border:1px solid #ddd;padding:4px 6px;text-align:center}
th{background:#f6e8e7}
.note{color:#666;font-size:.85rem;text-indent:0}
.signature{margin-top:2em}
.signature p{text-align:right;text-indent:0;margin:0}
code{word-break:break-all;font-size:.8rem}
@media (max-width:600px){
 table,tbody,tr,td{display:block;width:100%;box-sizing:border-box}
 thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
 tr{border:1px solid #ddd;border-radius:6px;margin:0 0 10px;padding:4px 8px}
 td{border:0;border-bottom:1px dashed #eee;text-align:right;padding:4px 0;overflow-wrap:anywhere}
 td:last-child{border-bottom:0}
 td::before{content:attr(data-label);float:left;color:#666;padding-right:8px}
 td:first-child{font-weight:bold;text-align:left}
 td:first-child::before{content:none}
}
</style></head>
<body><main>
<h1>{{ c.title }}</h1>
{% if c.cutoff %}<p class="note">数据截止：{{ c.cutoff }}</p>{% endif %}
<h2>一、参测情况</h2>
<p>{{ participation }}</p>
{% if c.absent %}<p class="note">{{ absent }}</p>{% endif %}
<h2>二、总体成绩</h2>
<p>{{ overall }}</p>
{% if charts.histogram %}<img src="{{ charts.histogram }}" alt="成绩分布图">{% endif %}
<h2>三、各单位成绩</h2>
<p>{{ unit_intro }}</p>
{{ table(unit_headers, units) }}
{% if c.small_units %}<p class="note">{{ small_n_note }}</p>{% endif %}
{% if charts.pass_rate_by_unit %}<img src="{{ charts.pass_rate_by_unit }}" alt="各单位及格率">{% endif %}
{% if gaps %}<p>{{ gaps }}</p>{% endif %}
<h2>四、薄弱环节</h2>
<h3>（一）法规</h3>
<p>{{ c.sources_sentence }}</p>
{{ table(mastery_headers, sources) }}
{% if charts.mastery_by_source %}<img src="{{ charts.mastery_by_source }}" alt="各法规掌握程度">{% endif %}
<h3>（二）知识点</h3>
<p>{{ c.kps_sentence }}</p>
{% if charts.unit_source_heatmap %}<img src="{{ charts.unit_source_heatmap }}" alt="单位与法规掌握程度热力图">{% endif %}
<p class="note">{{ c.weak_rule }}</p>
<p>{{ closing }}</p>
{% if c.draw %}<h2>五、抽样公证信息</h2>
<p class="note">{% for line in draw %}<code>{{ line }}</code>{% if not loop.last %}<br>{% endif %}{% endfor %}</p>{% endif %}
<div class="signature">{% for line in c.issuer_lines %}<p>{{ line }}</p>{% endfor %}<p>{{ c.date }}</p></div>
</main></body></html>
"""

TABLE = """{% macro table(headers, rows) %}<table><thead><tr>{% for h in headers %}<th>{{ h }}</th>{% endfor %}</tr></thead><tbody>
{% for row in rows %}<tr>{% for cell in row %}<td data-label="{{ headers[loop.index0] }}">{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>{% endmacro %}"""


def render(ctx: dict, chart_files: dict[str, str]) -> str:
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    table = env.from_string(TABLE).module.table
    return env.from_string(HTML).render(
        c=ctx,
        charts=chart_files,
        table=table,
        participation=content.participation_sentence(ctx),
        absent=content.absent_sentence(ctx) if ctx["absent"] else "",
        overall=content.overall_sentence(ctx),
        unit_intro=content.UNIT_INTRO,
        unit_headers=content.UNIT_HEADERS,
        units=[content.unit_cells(u) for u in ctx["units"]],
        small_n_note=content.SMALL_N_NOTE,
        gaps=content.gaps_sentence(ctx),
        mastery_headers=("法规", *content.MASTERY_HEADERS[1:]),
        sources=[content.mastery_cells(r) for r in ctx["sources"]],
        closing=content.CLOSING,
        draw=content.draw_lines(ctx),
    )
