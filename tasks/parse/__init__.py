"""Parse: a submitted file → tables with the submitter's own headers, row numbers and form context.

Entry point ``read_tables``; format readers live in ``csv_files``, ``xlsx_files`` and
``json_files``, the format-free logic (headers, 合计 rows, footers) in ``helpers``.
"""

from __future__ import annotations

import os
from pathlib import Path

from fupin.core.config import Limits
from fupin.core.messages import message
from fupin.core.raw import raw_size, read_raw, received_suffix
from fupin.tasks.parse.csv_files import read_csv
from fupin.tasks.parse.helpers import ParsedTable, ParseError
from fupin.tasks.parse.json_files import read_json
from fupin.tasks.parse.xlsx_files import (
    OLE_MAGIC,
    WORKBOOK_EXTENSIONS,
    ZIP_MAGIC,
    SheetsRead,
    expanded_size,
    read_workbook,
)

__all__ = ["WORKBOOK_EXTENSIONS", "ParsedTable", "ParseError", "SheetsRead", "read_tables"]

TEXT_EXTENSIONS = {".csv": ",", ".txt": ",", ".tsv": "\t"}
JSON_EXTENSIONS = {".json"}
# formats a clerk may save a form in that fupin cannot read, and what to save it as instead
_SAVE_AS_XLSX = "请另存为 .xlsx 后重新报送"
UNREADABLE_FORMATS = {
    ".et": f"WPS 表格（.et）格式无法读取：{_SAVE_AS_XLSX}",
    ".ett": f"WPS 表格模板（.ett）格式无法读取：{_SAVE_AS_XLSX}",
    ".numbers": "Apple Numbers（.numbers）格式无法读取：请在 Numbers 中导出为 .xlsx 后重新报送",
    ".xlt": f"Excel 模板（.xlt）不作为报表读取：{_SAVE_AS_XLSX}",
    ".xltx": f"Excel 模板（.xltx）不作为报表读取：{_SAVE_AS_XLSX}",
    ".dbf": "dBase（.dbf）格式无法读取：请另存为 .xlsx 或 CSV 后重新报送",
    ".doc": "是 Word 文档，不是报表：请把其中的表格复制到 Excel 另存为 .xlsx 后重新报送",
    ".docx": "是 Word 文档，不是报表：请把其中的表格复制到 Excel 另存为 .xlsx 后重新报送",
    ".wps": "是 WPS 文字文档，不是报表：请把其中的表格复制到 WPS 表格另存为 .xlsx 后重新报送",
    ".zip": "是压缩包：请解压后逐个报送其中的 .xlsx、CSV 或 JSON 报表",
    ".rar": "是压缩包：请解压后逐个报送其中的 .xlsx、CSV 或 JSON 报表",
    ".7z": "是压缩包：请解压后逐个报送其中的 .xlsx、CSV 或 JSON 报表",
}


def _extension(path: Path, file_name: str) -> str:
    known = WORKBOOK_EXTENSIONS | set(TEXT_EXTENSIONS) | JSON_EXTENSIONS
    for candidate in (Path(file_name).suffix.lower(), received_suffix(path)):
        if candidate in known:
            return candidate
    return Path(file_name).suffix.lower() or received_suffix(path)


def read_tables(
    path: str | os.PathLike, file_name: str | None = None, sheets: SheetsRead | None = None
) -> list[ParsedTable]:
    """Every table in a submitted file (one per non-empty sheet); ParseError if unreadable.

    ``sheets``: a workbook's sheets already read (by the registry sniff), taken rather than read again.
    """
    path = Path(path)
    name = Path(file_name).name if file_name else path.name
    limits = Limits.from_env()
    try:  # through the raw archive's one door: decompressed, its SHA-256 checked (RawArchiveError if it differs)
        data = read_raw(path, limit=limits.form_bytes)
        if len(data) > limits.form_bytes:
            raise ParseError(limits.message("form_bytes", raw_size(path), "报表文件字节数").within(name))
    except OSError as exc:
        raise ParseError(message("file_unreadable", name=name, error=exc.strerror)) from None
    extension = _extension(path, name)
    if extension in WORKBOOK_EXTENSIONS and data.startswith(ZIP_MAGIC):
        expanded = expanded_size(data)
        if expanded > limits.xlsx_expanded_bytes:
            raise ParseError(limits.message("xlsx_expanded_bytes", expanded, "工作簿解压后字节数").within(name))
    if extension in WORKBOOK_EXTENSIONS:
        if extension == ".xls" and data and not data.startswith((OLE_MAGIC, ZIP_MAGIC)) and b"\x00" not in data:
            head = data[:512].lstrip().lower()
            if not head.startswith((b"<", b"\xef\xbb\xbf<")):
                return read_csv(data, name, default_delimiter="\t")  # text exported under an .xls name
        return read_workbook(data, name, sheets)
    if extension in TEXT_EXTENSIONS:
        return read_csv(data, name, default_delimiter=TEXT_EXTENSIONS[extension])
    if extension in JSON_EXTENSIONS:
        return read_json(data, name)
    if extension in UNREADABLE_FORMATS:
        raise ParseError(message("unsupported_file_type.known", name=name, why=UNREADABLE_FORMATS[extension]))
    raise ParseError(message("unsupported_file_type", name=name, extension=extension or "无扩展名"))
