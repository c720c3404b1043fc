from __future__ import annotations

from openpyxl import Workbook, load_workbook

from core.excel import SheetSpec, neutralise, read_tables, write_workbook

ALIASES = {"stem": ["题干", "题目"], "answer": ["答案", "正确答案"], "note": ["备注"]}


def test_neutralise_formula_like_text_but_not_numbers():
    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("@SUM(A1)") == "'@SUM(A1)"
    assert neutralise("-3") == "-3"
    assert neutralise("+86 138") == "'+86 138"
    assert neutralise(5) == 5
    assert neutralise("正常文本") == "正常文本"


def test_header_row_below_a_title_in_any_order_with_row_numbers(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "单选题"
    ws.append(["2026年纪法知识题库"])
    ws.append([])
    ws.append(["正确答案", "备注", "题目"])
    ws.append(["A", None, "第一题"])
    ws.append([None, None, None])
    ws.append(["B", "x", "第二题"])
    intro = wb.create_sheet("说明")
    intro.append(["本工作簿说明"])
    path = tmp_path / "bank.xlsx"
    wb.save(path)
    (sheet,) = read_tables(path, ALIASES, required=["stem", "answer"])
    assert sheet.name == "单选题"
    assert sheet.header_row == 3
    assert [(r.number, r.values["stem"], r.values["answer"]) for r in sheet.rows] == [
        (4, "第一题", "A"),
        (6, "第二题", "B"),
    ]


def test_round_trip_keeps_dangerous_text_exact(tmp_path):
    path = write_workbook(
        tmp_path / "out.xlsx", [SheetSpec("题目", ["题干", "答案"], [['=HYPERLINK("x")', "A"]])]
    )
    ws = load_workbook(path).active
    assert ws["A2"].value == '\'=HYPERLINK("x")'  # stored as text, not a formula
    assert ws.freeze_panes == "A2"
    (sheet,) = read_tables(path, ALIASES, required=["stem"])
    assert sheet.rows[0].values["stem"] == '=HYPERLINK("x")'


def test_csv_in_gbk_is_read(tmp_path):
    path = tmp_path / "q.csv"
    path.write_bytes("题干,答案\n什么是留置,A\n".encode("gb18030"))
    (sheet,) = read_tables(path, ALIASES, required=["stem"])
    assert sheet.rows[0].values == {"stem": "什么是留置", "answer": "A"}
    assert sheet.rows[0].number == 2
