"""Spreadsheet input and output shared by every import and export.

Reading: ``read_tables`` checks an upload's unpacked size and row count before and
while parsing (``check_archive``, ``MAX_ROWS``: a zip bomb or a sheet of a million rows
is refused with a clear 413/422 in milliseconds), opens .xlsx or .csv and finds the header row on each sheet
(it may sit below a title row), so imports can report rows by the number the
spreadsheet shows. Writing: build ``(headers, rows)`` first, then ``write_workbook``;
text cells that a spreadsheet would run as a formula (starting with ``= + - @``, tab or
CR) are neutralised with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter

from core.errors import InvalidInput, PayloadTooLarge

#: what an uploaded archive (.xlsx, .docx) may unpack to, in bytes and members
MAX_UNPACKED_BYTES = 48 * 1024 * 1024
MAX_ARCHIVE_MEMBERS = 2000
#: rows and cells read from one uploaded file (all sheets together)
MAX_ROWS = 100_000
MAX_CELLS = 4_000_000

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def neutralise(value: object) -> object:
    """Make a text cell safe against formula injection (numbers stay numbers)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and not _NUMBER.match(value):
        return "'" + value
    return value


def is_formula_like(value: object) -> bool:
    """Whether a spreadsheet would run ``value`` as a formula (``neutralise`` changes it)."""
    return neutralise(value) is not value


def unneutralise(value: object) -> object:
    """Undo ``neutralise`` on import so export -> import round-trips exactly."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_PREFIXES):
        return value[1:]
    return value


@dataclass
class Row:
    #: the row number as the spreadsheet shows it (1-based, header included)
    number: int
    values: dict[str, object]


@dataclass
class Sheet:
    name: str
    #: canonical header names found, in column order
    headers: list[str]
    rows: list[Row] = field(default_factory=list)
    #: row number of the header row
    header_row: int = 1


def _clean(value: object) -> object:
    if value is None:
        return None
    if isinstance(value, str):
        value = unneutralise(value.strip())
        return value or None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _normalise_header(text: object) -> str:
    if text is None:
        return ""
    return re.sub(r"[\s　:：*（）()]", "", str(text)).lower()


def check_archive(data: bytes, *, max_unpacked: int = MAX_UNPACKED_BYTES) -> None:
    """Refuse an archive (.xlsx, .docx) that unpacks to more than ``max_unpacked``
    bytes or holds too many members, from its central directory alone (nothing is
    unpacked). A file that is not a zip is left to the parser to refuse."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return
    if len(members) > MAX_ARCHIVE_MEMBERS:
        raise PayloadTooLarge(f"文件结构异常：压缩包内有 {len(members)} 个部件，无法导入。")
    unpacked = sum(max(m.file_size, 0) for m in members)
    if unpacked > max_unpacked:
        raise PayloadTooLarge(
            f"文件解压后约 {unpacked // (1024 * 1024)} MB，超过上限 "
            f"{max_unpacked // (1024 * 1024)} MB：请拆分后分批导入。"
        )


class _Budget:
    """Rows and cells left to read from one file (``MAX_ROWS``, ``MAX_CELLS``)."""

    def __init__(self) -> None:
        self.rows = MAX_ROWS
        self.cells = MAX_CELLS

    def take(self, row: list) -> list:
        self.rows -= 1
        self.cells -= len(row)
        if self.rows < 0 or self.cells < 0:
            raise InvalidInput(
                f"文件行数过多（上限 {MAX_ROWS} 行、{MAX_CELLS} 个单元格）：请拆分后分批导入。"
            )
        return row


def _raw_sheets(source: str | Path | bytes, filename: str | None) -> list[tuple[str, list[list]]]:
    name = filename or (str(source) if not isinstance(source, bytes) else "")
    suffix = Path(name).suffix.lower()
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    if suffix == ".csv":
        text = None
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        if text is None:
            raise InvalidInput("无法识别 CSV 文件的编码（请使用 UTF-8 或 GBK）。")
        budget = _Budget()
        try:
            rows = [budget.take(r) for r in csv.reader(io.StringIO(text))]
        except csv.Error as exc:
            raise InvalidInput(f"无法读取 CSV 文件：{exc}") from exc
        return [(Path(name).stem or "CSV", rows)]
    if suffix in (".xlsx", ".xlsm"):
        check_archive(data)
        budget = _Budget()
        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a damaged file
            raise InvalidInput(f"无法读取 Excel 文件：{exc}") from exc
        try:
            sheets = [
                (ws.title, [budget.take(list(r)) for r in ws.iter_rows(values_only=True)])
                for ws in wb.worksheets
            ]
        except InvalidInput:
            raise
        except Exception as exc:  # a damaged sheet part
            raise InvalidInput(f"无法读取 Excel 文件：{exc}") from exc
        finally:
            wb.close()
        return sheets
    raise InvalidInput(f"不支持的文件类型：{suffix or '无扩展名'}（支持 .xlsx 和 .csv）")


def read_tables(
    source: str | Path | bytes,
    aliases: Mapping[str, Iterable[str]],
    *,
    required: Iterable[str] = (),
    filename: str | None = None,
    header_search_rows: int = 10,
) -> list[Sheet]:
    """Read every sheet that has a header row naming the ``required`` columns.

    ``aliases`` maps a canonical column name to the header texts accepted for it (any
    order, any case, spaces and colons ignored). The header row is the first of the
    first ``header_search_rows`` rows that names all required columns; sheets without
    one are skipped (e.g. an instructions sheet). Empty rows are skipped.
    """
    lookup: dict[str, str] = {}
    for canonical, names in aliases.items():
        lookup[_normalise_header(canonical)] = canonical
        for n in names:
            lookup[_normalise_header(n)] = canonical
    required = list(required)
    result: list[Sheet] = []
    for sheet_name, rows in _raw_sheets(source, filename):
        header_idx = None
        columns: dict[int, str] = {}
        for idx, row in enumerate(rows[:header_search_rows]):
            found = {
                i: lookup[_normalise_header(c)]
                for i, c in enumerate(row)
                if _normalise_header(c) in lookup
            }
            if found and all(r in found.values() for r in required):
                header_idx, columns = idx, found
                break
        if header_idx is None:
            continue
        sheet = Sheet(sheet_name, [columns[i] for i in sorted(columns)], header_row=header_idx + 1)
        for idx in range(header_idx + 1, len(rows)):
            raw = rows[idx]
            values = {columns[i]: _clean(raw[i]) for i in columns if i < len(raw)}
            if all(v is None for v in values.values()):
                continue
            sheet.rows.append(Row(idx + 1, values))
        result.append(sheet)
    return result


@dataclass
class SheetSpec:
    """One sheet to write: title, headers, rows of plain values."""

    title: str
    headers: Sequence[str]
    rows: Iterable[Sequence[object]]
    #: column widths in characters (optional)
    widths: Sequence[int] | None = None
    freeze: bool = True
    autofilter: bool = True


def build_workbook(sheets: Iterable[SheetSpec]) -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    for spec in sheets:
        ws = wb.create_sheet(spec.title[:31])
        ws.append(list(spec.headers))
        for row in spec.rows:
            ws.append([neutralise(v) for v in row])
        if spec.freeze:
            ws.freeze_panes = "A2"
        if spec.autofilter and ws.max_row > 1:
            ws.auto_filter.ref = ws.dimensions
        for i, header in enumerate(spec.headers, start=1):
            width = (
                spec.widths[i - 1]
                if spec.widths and i - 1 < len(spec.widths)
                else max(10, min(40, len(str(header)) * 2 + 4))
            )
            ws.column_dimensions[get_column_letter(i)].width = width
    return wb


def write_workbook(path: str | Path, sheets: Iterable[SheetSpec]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    build_workbook(sheets).save(path)
    return path


def workbook_bytes(sheets: Iterable[SheetSpec]) -> bytes:
    buf = io.BytesIO()
    build_workbook(sheets).save(buf)
    return buf.getvalue()


def write_csv(path: str | Path, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    """CSV for spreadsheets: UTF-8 with BOM (Excel opens it correctly), neutralised."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(headers)
        for row in rows:
            writer.writerow([neutralise(v) for v in row])
    return path


@dataclass
class RowError:
    sheet: str
    row: int
    reason: str

    def as_dict(self) -> dict:
        return {"sheet": self.sheet, "row": self.row, "reason": self.reason}

    def __str__(self) -> str:
        return f"工作表「{self.sheet}」第 {self.row} 行：{self.reason}"
