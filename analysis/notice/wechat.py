"""The notice as a WeChat official-account article.

The account's editor keeps inline styles and drops style sheets, classes, ids and
scripts, so every element here carries its own ``style`` and nothing else. Tables become
stacked blocks (one per unit or law) that fit a phone. Pictures cannot be pasted from a
local file: they are separate files, referenced by file name, uploaded by hand in the
editor where the article shows each picture's name.
"""

from __future__ import annotations

import io
import zipfile

from jinja2 import Environment, select_autoescape

from analysis.notice import content

#: the pictures of the article, in order: (chart name, file name, caption)
FIGURES = (
    ("histogram", "fig1-histogram.png", "图1 成绩分布"),
    ("pass_rate_by_unit", "fig2-pass-rate-by-unit.png", "图2 各单位及格率（95% 置信区间）"),
    ("mastery_by_source", "fig3-mastery-by-source.png", "图3 各法规掌握程度"),
    ("unit_source_heatmap", "fig4-unit-source-heatmap.png", "图4 单位与法规掌握程度"),
)

S = {
    "wrap": "max-width:677px;margin:0 auto;padding:0 4px;font-size:16px;line-height:1.75;"
    "color:#333;letter-spacing:0.5px;font-family:-apple-system,'PingFang SC','Microsoft YaHei',"
    "sans-serif;",
    "title": "font-size:20px;font-weight:bold;text-align:center;color:#b3261e;line-height:1.4;"
    "margin:8px 0 16px;",
    "h2": "font-size:17px;font-weight:bold;color:#b3261e;border-left:4px solid #b3261e;"
    "padding-left:8px;margin:24px 0 8px;",
    "h3": "font-size:16px;font-weight:bold;margin:16px 0 6px;",
    "p": "text-indent:2em;margin:8px 0;text-align:justify;",
    "note": "font-size:14px;color:#888;margin:6px 0;",
    "card": "border:1px solid #eadad8;border-radius:6px;padding:6px 10px;margin:8px 0;"
    "font-size:15px;",
    "card_head": "font-weight:bold;margin:0;",
    "card_line": "margin:0;color:#555;",
    "figure": "text-align:center;margin:12px 0 0;",
    "img": "max-width:100%;height:auto;display:block;margin:0 auto;",
    "caption": "text-align:center;font-size:13px;color:#888;margin:4px 0 12px;",
    "sign": "text-align:right;margin:0;",
    "sign_first": "text-align:right;margin:32px 0 0;",
    "code": "font-size:12px;color:#666;word-break:break-all;margin:4px 0;",
}

ARTICLE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{{ c.title }}</title></head>
<body><section style="{{ s.wrap }}">
<p style="{{ s.title }}">{{ c.title }}</p>
{% if c.cutoff %}<p style="{{ s.note }}">数据截止：{{ c.cutoff }}</p>{% endif %}
<p style="{{ s.h2 }}">一、参测情况</p>
<p style="{{ s.p }}">{{ participation }}</p>
{% if absent %}<p style="{{ s.note }}">{{ absent }}</p>{% endif %}
<p style="{{ s.h2 }}">二、总体成绩</p>
<p style="{{ s.p }}">{{ overall }}</p>
{{ figure(figs.histogram) }}
<p style="{{ s.h2 }}">三、各单位成绩</p>
<p style="{{ s.p }}">{{ unit_intro }}</p>
{% for u in c.units %}<section style="{{ s.card }}"><p style="{{ s.card_head }}">{{ loop.index }}. {{ u.name }}{% if u.small_n %}*{% endif %}</p>
<p style="{{ s.card_line }}">{{ u.n }} 人｜平均得分率 {{ u.mean }}%｜收缩均值 {{ u.shrunk }}%</p>
<p style="{{ s.card_line }}">及格率 {{ u.pass_rate }}{% if u.interval %}（95% 区间 {{ u.interval }}）{% endif %}</p></section>
{% endfor %}{% if c.small_units %}<p style="{{ s.note }}">{{ small_n_note }}</p>{% endif %}
{{ figure(figs.pass_rate_by_unit) }}
{% if gaps %}<p style="{{ s.p }}">{{ gaps }}</p>{% endif %}
<p style="{{ s.h2 }}">四、薄弱环节</p>
<p style="{{ s.h3 }}">（一）法规</p>
<p style="{{ s.p }}">{{ c.sources_sentence }}</p>
{% for r in c.sources %}<section style="{{ s.card }}"><p style="{{ s.card_head }}">{{ r.name }}{% if r.weak %}（明显偏低）{% endif %}</p>
<p style="{{ s.card_line }}">掌握程度 {{ r.facility }}（95% 区间 {{ r.interval }}）｜{{ r.n_items }} 题｜{{ r.n_answers }} 人次</p></section>
{% endfor %}{{ figure(figs.mastery_by_source) }}
<p style="{{ s.h3 }}">（二）知识点</p>
<p style="{{ s.p }}">{{ c.kps_sentence }}</p>
{{ figure(figs.unit_source_heatmap) }}
<p style="{{ s.note }}">{{ c.weak_rule }}</p>
<p style="{{ s.p }}">{{ closing }}</p>
{% if draw %}<p style="{{ s.h2 }}">五、抽样公证信息</p>
{% for line in draw %}<p style="{{ s.code }}">{{ line }}</p>
{% endfor %}{% endif %}
{% for line in c.issuer_lines %}<p style="{{ s.sign_first if loop.first else s.sign }}">{{ line }}</p>
{% endfor %}<p style="{{ s.sign }}">{{ c.date }}</p>
</section></body></html>
"""

FIGURE = """{% macro figure(f) %}{% if f %}<p style="{{ s.figure }}"><img src="{{ f.file }}" alt="{{ f.caption }}（请上传图片 {{ f.file }}）" style="{{ s.img }}"></p>
<p style="{{ s.caption }}">{{ f.caption }}　〔图片文件：{{ f.file }}〕</p>{% endif %}{% endmacro %}"""

README = """微信公众号文章使用说明

1. 用浏览器打开 article.html，全选（Ctrl+A）并复制，粘贴到公众号编辑器的正文中。
   文章只用行内样式，粘贴后版式保持不变。
2. 图片不能随文粘贴：在编辑器中删除每个图片占位，在原处上传同名图片文件：
{figures}
3. article.txt 是同一通报的纯文本，可供核对或在其他平台发布。
"""


def figures(charts: dict[str, bytes]) -> dict[str, dict]:
    """The article's pictures present in ``charts``: name -> {file, caption}."""
    return {
        name: {"file": file, "caption": caption}
        for name, file, caption in FIGURES
        if name in charts
    }


def render(ctx: dict, figs: dict[str, dict]) -> str:
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    figure = env.from_string(FIGURE, globals={"s": S}).module.figure
    return env.from_string(ARTICLE).render(
        c=ctx,
        s=S,
        figs=figs,
        figure=figure,
        participation=content.participation_sentence(ctx),
        absent=content.absent_sentence(ctx) if ctx["absent"] else "",
        overall=content.overall_sentence(ctx),
        unit_intro=content.UNIT_INTRO,
        small_n_note=content.SMALL_N_NOTE,
        gaps=content.gaps_sentence(ctx),
        closing=content.CLOSING,
        draw=content.draw_lines(ctx),
    )


def files(ctx: dict, charts: dict[str, bytes], text: str) -> dict[str, bytes]:
    """article.html, its pictures, the plain text and a how-to, by file name."""
    figs = figures(charts)
    out = {"article.html": render(ctx, figs).encode("utf-8")}
    for name, f in figs.items():
        out[f["file"]] = charts[name]
    out["article.txt"] = text.encode("utf-8")
    listing = "\n".join(f"   {f['file']}：{f['caption']}" for f in figs.values()) or "   （无）"
    out["README.txt"] = README.format(figures=listing).encode("utf-8")
    return out


def zip_bytes(ctx: dict, charts: dict[str, bytes], text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files(ctx, charts, text).items():
            zf.writestr(f"wechat/{name}", data)
    return buf.getvalue()
