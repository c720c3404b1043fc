"""The notice as plain text (to paste anywhere; kept beside the WeChat article)."""

from __future__ import annotations

from analysis.notice import content


def render(ctx: dict) -> str:
    c = ctx
    lines = [c["title"], ""]
    if c["cutoff"]:
        lines.append(f"（数据截止：{c['cutoff']}）")
    lines += ["一、参测情况", content.participation_sentence(c)]
    if c["absent"]:
        lines.append(content.absent_sentence(c))
    lines += ["", "二、总体成绩", content.overall_sentence(c), ""]
    lines.append("三、各单位成绩（按收缩均值排列，括号内为及格率 95% 置信区间）")
    for i, u in enumerate(c["units"], start=1):
        lines.append(
            f"{i}. {u['name']}{'*' if u['small_n'] else ''}：{u['n']} 人，平均得分率 {u['mean']}%，"
            f"收缩均值 {u['shrunk']}%，及格率 {u['pass_rate']}"
            + (f"（{u['interval']}）" if u["interval"] else "")
        )
    if c["small_units"]:
        lines.append(content.SMALL_N_NOTE)
    if c["gaps"]:
        lines.append(content.gaps_sentence(c))
    lines += ["", "四、薄弱环节", "（一）法规", c["sources_sentence"]]
    for r in c["sources"]:
        lines.append(
            f"  {r['name']}：{r['facility']}（95% 区间 {r['interval']}），{r['n_items']} 题，"
            f"{r['n_answers']} 人次作答{'，明显偏低' if r['weak'] else ''}"
        )
    lines += ["（二）知识点", c["kps_sentence"], c["weak_rule"], content.CLOSING]
    if c["draw"]:
        lines += ["", "五、抽样公证信息", *content.draw_lines(c)]
    lines += ["", *c["issuer_lines"], c["date"]]
    return "\n".join(lines) + "\n"
