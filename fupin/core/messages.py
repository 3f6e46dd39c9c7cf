"""The message catalogue: every message a clerk, analyst or operator reads, by its stable machine code.

Each entry is a Chinese template (what fupin shows and stores) and an English one (for engineers), with the same
``{placeholders}``, and a kind: ``file`` (a submission's message in the ledger and its receipt), ``row`` (a rejected
row's reason), ``run`` (a run's, a warehouse's or a home's state) or ``command`` (a command's answer at the terminal).
``fupin docs`` lists the catalogue in the data dictionary (:func:`catalogue_rows`). A message is a value,
``Message(code, params)``; :func:`render` turns it into text, exactly as it is stored and shown, the code in
brackets where the text carries it (``…请在 Excel 中另存为 .xlsx 后重新报送 [not_a_workbook]``). One code may have
a few wordings (the same fault found in different ways): they are entries ``code.variant``, e.g.
``not_a_workbook.opendocument``; the code stays ``not_a_workbook``.

Code that raises a fault a clerk reads raises a :class:`CodedError` (``ParseError``, ``RegistryError`` …): it
carries its :class:`Message`, and so its code, beside the rendered text.

Row rejections carry their code in ``Rejection.code`` (``meta.rejections.reason_code``). A ledger written by an
older run kept only the text: :func:`code_in` (and :data:`CODE_SQL`, the same inside DuckDB) reads the code back
from it. A message also quotes what was submitted (a file name, a header, a sheet name), which may hold brackets of
its own (``[table].csv``): a code is only one that stands as a word, after a space or a closing parenthesis and
before a space, clause punctuation or the end (``重新报送 [not_a_workbook]``, ``（本文件 9,074）[limit_…]``).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

LANGUAGES = ("zh", "en")
KINDS = ("file", "row", "run", "command")


@dataclass(frozen=True)
class Entry:
    """One catalogue entry: the Chinese and English templates and what kind of message it is."""

    zh: str
    en: str
    kind: str


@dataclass(frozen=True)
class Message:
    """A message as a value: its catalogue key (a code, or ``code.variant``) and the parameters of its template."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)
    # where it was found, outermost first: a file, a sheet (rendered "file：sheet：…" before the template)
    where: tuple[str, ...] = ()

    @property
    def code(self) -> str:
        """The stable machine code (``not_a_workbook`` for ``not_a_workbook.html``)."""
        return self.key.split(".", 1)[0]

    def within(self, where: str) -> Message:
        """The same message, said of ``where`` (a file name, a sheet): ``where：…``."""
        return replace(self, where=(where, *self.where))

    def __str__(self) -> str:
        return render(self)


def message(key: str, /, **params: Any) -> Message:
    """``Message(key, params)``; ``key`` must be in the catalogue."""
    if key not in CATALOGUE:
        raise KeyError(f"no message {key!r} in the catalogue")
    return Message(key, params)


def render(message: Message, lang: str = "zh", *, coded: bool = True) -> str:
    """The text of a message in ``lang`` (zh: as stored and shown; en: for engineers); ``coded=False``: without
    the `` [code]`` that ends it (where the code is shown apart, as ``fupin doctor`` does)."""
    template = getattr(CATALOGUE[message.key], lang)
    if not coded:
        template = template.removesuffix(f" [{message.code}]")
    params = {k: render(v, lang) if isinstance(v, Message) else v for k, v in message.params.items()}
    separator = "：" if lang == "zh" else ": "
    return "".join(w + separator for w in message.where) + template.format_map(params)


def say(key: str, /, **params: Any) -> str:
    """The Chinese text of ``key`` with ``params``: ``render(message(key, **params))``."""
    return render(message(key, **params))


def placeholders(template: str) -> set[str]:
    """The names a template's ``{…}`` fields use."""
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(template) if name}


class CodedError(Exception):
    """A fault a person reads: its :class:`Message` (``.message``) and code (``.code``) beside the text.

    Built from a Message, or from a text and its code (a message composed of others: ``f"{name}：{exc}"``).
    """

    def __init__(self, message: Message | str, code: str | None = None):
        if isinstance(message, Message):
            self.message: Message | None = message
            self.code: str | None = message.code
            super().__init__(render(message))
        else:
            self.message = None
            self.code = code or code_in(message)
            super().__init__(message)


def said_of(where: str, error: BaseException) -> Message | str:
    """An error's message said of ``where`` (``where：…``): its Message when it carries one, else its text."""
    carried = getattr(error, "message", None)
    return carried.within(where) if isinstance(carried, Message) else f"{where}：{error}"


def code_of(error: BaseException) -> str | None:
    """The code an exception carries (a CodedError's), else the one its text ends a clause with."""
    return getattr(error, "code", None) or code_in(str(error))


# --- reading the code back from text an older run stored -------------------------------------------------------

_BEFORE = r"[\s）)]"
_AFTER = r"(?:$|[\s；：。，;:,)）])"
_BRACKETED = r"\[([a-z][a-z0-9_]*)(?::[^\]]*)?\]"
_CODE = re.compile(_BEFORE + _BRACKETED + _AFTER)
CODE_SQL = "nullif(regexp_extract({}, '" + _BEFORE + _BRACKETED + _AFTER + "', 1), '')"  # the same, inside DuckDB


def code_in(text: str | None) -> str | None:
    """The first bracketed machine code in a message (``[empty_file]`` → ``empty_file``), or None."""
    match = _CODE.search(text or "")
    return match[1] if match else None


def codes_in(text: str | None) -> list[str]:
    """Every bracketed machine code in a text, in order (a run's failure naming several files)."""
    return [match[1] for match in _CODE.finditer(text or "")]


# --- the catalogue ------------------------------------------------------------------------------------------------


def _f(zh: str, en: str) -> Entry:
    return Entry(zh, en, "file")


def _row(zh: str, en: str) -> Entry:
    return Entry(zh, en, "row")


def _r(zh: str, en: str) -> Entry:
    return Entry(zh, en, "run")


def _c(zh: str, en: str) -> Entry:
    return Entry(zh, en, "command")


# the limits a file is checked against (fupin.core.config.Limits, but same_reason_rows: rows_all_refused)
LIMIT_NAMES = (
    "form_bytes",
    "registry_bytes",
    "xlsx_expanded_bytes",
    "rows_per_sheet",
    "columns_per_row",
    "line_chars",
    "field_chars",
)


def _limit(name: str) -> Entry:
    code, variable = f"limit_{name}", f"FUPIN_LIMIT_{name.upper()}"
    return _f(
        f"超过限制：{{what}}最多 {{limit:,}}（本文件 {{found:,}}）；管理员可用 {variable} 调整 [{code}]",
        f"limit exceeded: {{what}} at most {{limit:,}} (this file {{found:,}}); an administrator may raise {variable} "
        f"[{code}]",
    )


CATALOGUE: dict[str, Entry] = {
    # --- receiving a file (tasks/pull.py) ---
    "not_regular_file.symlink": _f(
        "不是普通文件（符号链接），未读取 [not_regular_file]",
        "not a regular file (symbolic link), not read [not_regular_file]",
    ),
    "not_regular_file.fifo": _f(
        "不是普通文件（命名管道），未读取 [not_regular_file]",
        "not a regular file (named pipe), not read [not_regular_file]",
    ),
    "not_regular_file.device": _f(
        "不是普通文件（设备文件），未读取 [not_regular_file]",
        "not a regular file (device), not read [not_regular_file]",
    ),
    "not_regular_file.socket": _f(
        "不是普通文件（套接字），未读取 [not_regular_file]", "not a regular file (socket), not read [not_regular_file]"
    ),
    "hidden_file": _f(
        "隐藏文件或文件夹（名称以 . 开头），不作为报送文件读取 [hidden_file]",
        "hidden file or folder (name starts with .), not read as a submission [hidden_file]",
    ),
    "office_lock_file": _f(
        "Excel/WPS 临时锁定文件（名称以 ~$ 开头），不作为报送文件读取 [office_lock_file]",
        "Excel/WPS lock file (name starts with ~$), not read as a submission [office_lock_file]",
    ),
    "undecodable_name": _f(
        "文件名不是 UTF-8 编码，未读取；请改用 UTF-8 文件名重新报送 [undecodable_name]",
        "file name is not UTF-8, not read; resend under a UTF-8 name [undecodable_name]",
    ),
    "unreadable_file": _f(
        "文件或文件夹无法读取（权限或已被移走），未读取 [unreadable_file]",
        "file or folder cannot be read (permissions, or moved away), not read [unreadable_file]",
    ),
    "duplicate": _f(
        "{name}：与已收到的报送 {original} 内容完全相同，不再重复入库 [duplicate]",
        "{name}: same content as submission {original}, already received; not loaded again [duplicate]",
    ),
    # --- reading a file (tasks/parse/) ---
    "file_unreadable": _f(
        "{name}：文件无法读取（{error}）：请重新报送 [file_unreadable]",
        "{name}: file cannot be read ({error}); resend it [file_unreadable]",
    ),
    "unsupported_file_type": _f(
        "{name}：不支持的文件类型（{extension}）："
        "请以 XLSX（或 XLS、ODS）、CSV 或 JSON 格式报送 [unsupported_file_type]",
        "{name}: file type not supported ({extension}); send XLSX (or XLS, ODS), CSV or JSON [unsupported_file_type]",
    ),
    "unsupported_file_type.known": _f(
        "{name}：{why} [unsupported_file_type]",
        "{name}: {why} [unsupported_file_type]",
    ),
    "empty_file": _f(
        "{name}：文件是空的：请报送填好的报表 [empty_file]",
        "{name}: the file is empty; send a filled-in form [empty_file]",
    ),
    "binary_in_csv": _f(
        "{name}：扩展名是 .csv，内容却是{what}：请改用 .xlsx/.xls 扩展名报送，或另存为 CSV [binary_in_csv]",
        "{name}: named .csv but holds {what}; send it as .xlsx/.xls, or save it as CSV [binary_in_csv]",
    ),
    "binary_in_csv.nul": _f(
        "{name}：CSV 文件中有二进制内容（第 {offset} 字节为 NUL）：请从 Excel 另存为 CSV 后重新报送 [binary_in_csv]",
        "{name}: binary content in a CSV (byte {offset} is NUL); save it as CSV from Excel and resend [binary_in_csv]",
    ),
    "encoding_unknown": _f(
        "{name}：文字编码无法识别（既不是 UTF-8 也不是 GB18030，第 {offset} 字节为 0x{byte:02x}）："
        "请用 Excel 另存为“CSV UTF-8”后重新报送 [encoding_unknown]",
        "{name}: text encoding not recognised (neither UTF-8 nor GB18030, byte {offset} is 0x{byte:02x}); "
        "save it as 'CSV UTF-8' from Excel and resend [encoding_unknown]",
    ),
    "encoding_unknown.json": _f(
        "{name}：文字编码无法识别（既不是 UTF-8 也不是 GB18030）：请以 UTF-8 编码重新报送 [encoding_unknown]",
        "{name}: text encoding not recognised (neither UTF-8 nor GB18030); resend it in UTF-8 [encoding_unknown]",
    ),
    "csv_malformed": _f(
        "{name}：CSV 格式有误，{error}：请从 Excel 另存为 CSV 后重新报送 [csv_malformed]",
        "{name}: malformed CSV, {error}; save it as CSV from Excel and resend [csv_malformed]",
    ),
    "no_header_row": _f(
        "找不到表头行：请保留报表模板的表头行 [no_header_row]",
        "no header row found; keep the form template's header row [no_header_row]",
    ),
    "no_header_row.data": _f(
        "找不到表头行（第 {row} 行看起来已是数据）：请保留报表模板的表头行 [no_header_row]",
        "no header row found (row {row} already looks like data); keep the form template's header row [no_header_row]",
    ),
    "workbook_encrypted": _f(
        "{name}：工作簿设有打开密码：请取消密码后重新报送 [workbook_encrypted]",
        "{name}: the workbook has an opening password; remove it and resend [workbook_encrypted]",
    ),
    "not_a_workbook": _f(
        "{name}：不是有效的 Excel（XLSX）文件：请在 Excel 中另存为 .xlsx 后重新报送 [not_a_workbook]",
        "{name}: not a valid Excel (XLSX) file; save it as .xlsx in Excel and resend [not_a_workbook]",
    ),
    "not_a_workbook.html": _f(
        "{name}：不是真正的 Excel 工作簿（是以工作簿名字保存的网页/XML）："
        "请在 Excel 中另存为 .xlsx 后重新报送 [not_a_workbook]",
        "{name}: not a real Excel workbook (a web page/XML saved under a workbook's name); "
        "save it as .xlsx in Excel and resend [not_a_workbook]",
    ),
    "not_a_workbook.opendocument": _f(
        "{name}：是 OpenDocument 文字或演示文档，不是表格：请把报表另存为 .xlsx 后重新报送 [not_a_workbook]",
        "{name}: an OpenDocument text or presentation, not a spreadsheet; save the form as .xlsx and resend "
        "[not_a_workbook]",
    ),
    "not_a_workbook.zip": _f(
        "{name}：是压缩包而不是 Excel 工作簿：请报送 .xlsx 报表本身 [not_a_workbook]",
        "{name}: a zip archive, not an Excel workbook; send the .xlsx form itself [not_a_workbook]",
    ),
    "workbook_corrupt": _f(
        "{name}：Excel 文件不完整或已损坏：请重新导出后报送 [workbook_corrupt]",
        "{name}: the Excel file is truncated or damaged; export it again and resend [workbook_corrupt]",
    ),
    "workbook_corrupt.open": _f(
        "{name}：工作簿无法打开，文件不完整或已损坏：请重新导出后报送（技术信息：{error}） [workbook_corrupt]",
        "{name}: the workbook cannot be opened, truncated or damaged; export it again and resend "
        "(technical detail: {error}) [workbook_corrupt]",
    ),
    "sheet_unreadable": _f(
        "{name}：工作表「{sheet}」无法读取：请重新导出后报送（技术信息：{error}） [sheet_unreadable]",
        "{name}: sheet '{sheet}' cannot be read; export it again and resend (technical detail: {error}) "
        "[sheet_unreadable]",
    ),
    "sheet_without_table": _f(
        "工作表「{sheet}」：没有表格（只有说明或标题） [sheet_without_table]",
        "sheet '{sheet}': no table (notes or a title only) [sheet_without_table]",
    ),
    "json_too_deep": _f(
        "{name}：JSON 嵌套超过 {depth} 层，不是报表的格式：请按报送格式报送记录列表 [json_too_deep]",
        "{name}: JSON nested deeper than {depth} levels, not a form; send a list of records as specified "
        "[json_too_deep]",
    ),
    "json_duplicate_key": _f(
        "{name}：{where}中“{key}”出现了 {count} 次，无法确定应读哪一个值，整个文件未读取："
        "请每个字段只写一次后重新报送 [json_duplicate_key]",
        "{name}: '{key}' appears {count} times in {where}, which value to read is unclear, the file is not read; "
        "write each field once and resend [json_duplicate_key]",
    ),
    "json_no_records": _f(
        "{name}：JSON 中找不到记录列表（应为列表，或带 data 列表的对象）：请按报送格式报送 [json_no_records]",
        "{name}: no list of records in the JSON (a list, or an object with a data list); send it as specified "
        "[json_no_records]",
    ),
    "json_no_records.shape": _f(
        "{name}：JSON 内容应为记录列表，或带 data 列表的对象：请按报送格式报送 [json_no_records]",
        "{name}: JSON should be a list of records or an object with a data list; send it as specified "
        "[json_no_records]",
    ),
    "json_invalid": _f(
        "{name}：不是有效的 JSON（第 {line} 行第 {column} 列：{error}）：请修正后重新报送 [json_invalid]",
        "{name}: not valid JSON (line {line} column {column}: {error}); correct it and resend [json_invalid]",
    ),
    "json_unreadable": _f(
        "{name}：JSON 无法读取（{error}）：请检查后重新报送 [json_unreadable]",
        "{name}: JSON cannot be read ({error}); check it and resend [json_unreadable]",
    ),
    "json_record_not_object": _f(
        "{name}：第 {index} 条记录不是“字段: 值”的对象：请按报送格式报送 [json_record_not_object]",
        "{name}: record {index} is not a 'field: value' object; send it as specified [json_record_not_object]",
    ),
    "json_nested_value": _f(
        "{where}的值是嵌套的结构：每条记录的每个字段只能是一个数字或一段文字 [json_nested_value]",
        "the value of {where} is nested; each field of a record must be one number or one text [json_nested_value]",
    ),
    # --- a file's content (tasks/process.py, tasks/normalise/, tasks/validate.py, tasks/lake.py) ---
    "no_data": _f(
        "{name}：文件中没有数据：请报送填好的报表 [no_data]",
        "{name}: no data in the file; send a filled-in form [no_data]",
    ),
    "unreadable_content": _f(
        "{name}：文件内容无法读取（{error}）：请检查后重新报送 [unreadable_content]",
        "{name}: the file's content cannot be read ({error}); check it and resend [unreadable_content]",
    ),
    "normalise_failed": _f(
        "{where}：表格无法转换（{error}）：请检查后重新报送 [normalise_failed]",
        "{where}: the table cannot be converted ({error}); check it and resend [normalise_failed]",
    ),
    "no_table": _f(
        "{name}：没有可读取的表格：请报送填好的报表 [no_table]",
        "{name}: no readable table; send a filled-in form [no_table]",
    ),
    "dataset_unrecognised": _f(
        "{where}：无法从表头识别是哪一种报表（读到的表头：{headers}）；请使用部里下发的报表模板，"
        "表头须有县名或县代码、年度和各项指标列 [dataset_unrecognised]",
        "{where}: which form this is cannot be told from its headers (headers read: {headers}); use the Ministry's "
        "template, whose header has the county name or code, the year and the indicators [dataset_unrecognised]",
    ),
    "dataset_unrecognised.short": _f(
        "无法从表头识别是哪一种报表 [dataset_unrecognised]",
        "which form this is cannot be told from its headers [dataset_unrecognised]",
    ),
    "missing_required_column": _f(
        "像是“{dataset}”报表，但缺少必填列{columns}（未识别的表头：{unread}）；{hint}；"
        "请按报表模板补上这一列后重新报送 [missing_required_column]",
        "looks like a '{dataset}' form, but required column {columns} is missing (headers not understood: "
        "{unread}); {hint}; add the column as in the template and resend [missing_required_column]",
    ),
    "missing_required_column.registry": _f(
        "建档立卡名册缺少必填列{columns}：请按名册模板补上后重新报送 [missing_required_column]",
        "the household registry lacks required column {columns}; add it as in the template and resend "
        "[missing_required_column]",
    ),
    "ambiguous_columns": _f(
        "有 {count} 列都可读作“{what}”：{headers}，无法确定应读哪一列，整个文件未读取；"
        "请把不该读的列改名{example}或删去后重新报送，或在 headers.yaml 中写明{hint} [ambiguous_columns]",
        "{count} columns could all be read as '{what}': {headers}, which to read is unclear, the file is not read; "
        "rename{example} or delete the columns not to read and resend, or state in headers.yaml {hint} "
        "[ambiguous_columns]",
    ),
    "column_not_this_year": _f(
        "{where}：“{header}”为{what}，未作为本年金额读取 [column_not_this_year]",
        "{where}: '{header}' is {what}, not read as this year's amount [column_not_this_year]",
    ),
    "columns_ignored": _f(
        "{where}：未识别的列已忽略：{headers} [columns_ignored]",
        "{where}: columns not recognised, ignored: {headers} [columns_ignored]",
    ),
    "money_unit_unknown": _f(
        "{where}：表中没有写明金额单位，而{why}，不像以“元”填写的金额（多半是万元）："
        "请在金额列的表头写明单位，如“金额（万元）”，或在表头上方写“单位：万元”后重新报送 [money_unit_unknown]",
        "{where}: the form states no money unit, and {why}, unlike amounts in 元 (most likely 万元); state the unit "
        "in the amount column's header, e.g. '金额（万元）', or write '单位：万元' above the header, and resend "
        "[money_unit_unknown]",
    ),
    "money_unit_assumed": _f(
        "{where}：表中没有写明金额单位，按“元”读取；如不是元，请在表头写明单位 [money_unit_assumed]",
        "{where}: the form states no money unit, read as 元; if not 元, state the unit in the header "
        "[money_unit_assumed]",
    ),
    "declared_total_mismatch": _f(
        "合计行{at}“{label}”为 {total}，但各行相加为 {summed}；请核对 [declared_total_mismatch]",
        "total row{at} '{label}' is {total}, but the rows sum to {summed}; please check [declared_total_mismatch]",
    ),
    "declared_total_mismatch.subtotal": _f(
        "小计行{at}“{label}”为 {total}，但它所小计的{rows}相加为 {summed}；请核对 [declared_total_mismatch]",
        "subtotal row{at} '{label}' is {total}, but the {rows} it subtotals sum to {summed}; please check "
        "[declared_total_mismatch]",
    ),
    "breakdown_rows_skipped": _f(
        "{where}：第 {rows} 行是“其中”分项（上一行的细分），不作为数据读取 [breakdown_rows_skipped]",
        "{where}: rows {rows} are '其中' breakdowns (of the row above), not read as data [breakdown_rows_skipped]",
    ),
    "declared_incidence_differs": _f(
        "第 {row} 行：填报的贫困发生率 {declared:.2%} 与 未脱贫人口÷农业户籍人口 = {computed:.2%} 不符；"
        "请核对 [declared_incidence_differs]",
        "row {row}: the incidence stated, {declared:.2%}, differs from poor ÷ rural population = {computed:.2%}; "
        "please check [declared_incidence_differs]",
    ),
    "rows_all_refused": _f(
        "{name}：前 {rows:,} 行均因同一原因被退回（{where}{reason}；原因代码 {reason_code}）："
        "已停止读取本文件，请按原因修改后重新报送 [rows_all_refused]",
        "{name}: the first {rows:,} rows were all refused for one reason ({where}{reason}; reason code "
        "{reason_code}); the file is read no further, correct it and resend [rows_all_refused]",
    ),
    "no_row_loaded": _f(
        "{name}：没有一行可以入库：请报送填好的报表 [no_row_loaded]",
        "{name}: no row can be loaded; send a filled-in form [no_row_loaded]",
    ),
    "no_row_loaded.rejected": _f(
        "{name}：没有一行可以入库（{rows}被退回）：请按回执更正后重新报送 [no_row_loaded]",
        "{name}: no row can be loaded ({rows} refused); correct them as the receipt says and resend [no_row_loaded]",
    ),
    "no_row_loaded.registry": _f(
        "{name}：没有一行可以入库：请按回执更正后重新报送 [no_row_loaded]",
        "{name}: no row can be loaded; correct them as the receipt says and resend [no_row_loaded]",
    ),
    "rows_rejected": _f(
        "{rows}被退回：请按回执更正后重新报送 [rows_rejected]",
        "{rows} refused; correct them as the receipt says and resend [rows_rejected]",
    ),
    # --- a rejected row: business rules (tasks/validate.py); the reason begins with the submitter's header ---
    "year_not_reportable": _row(
        "“{header}”为 {year}，不在可报送的年份 2000–{last} 之内：请填写数据所属的年度",
        "'{header}' is {year}, outside the years that can be reported, 2000–{last}; give the year the data are for",
    ),
    "negative_amount": _row(
        "“{header}”不能为负数（{what}）：请填写实际数值，没有的填 0",
        "'{header}' cannot be negative ({what}); give the actual value, 0 for none",
    ),
    "negative_count": _row(
        "“{header}”不能为负数（{what}）：请填写实际数值，没有的填 0",
        "'{header}' cannot be negative ({what}); give the actual value, 0 for none",
    ),
    "zero_not_allowed": _row(
        "“{header}”不能为 0（贫困发生率等比率要用它作分母）：请填写实际数值",
        "'{header}' cannot be 0 (rates such as the poverty incidence divide by it); give the actual value",
    ),
    "exceeds_limit": _row(
        "“{header}”（{value}）不能大于“{limit_header}”（{limit}）：请核对这两列是否填反或填错",
        "'{header}' ({value}) cannot exceed '{limit_header}' ({limit}); check whether the two are swapped or wrong",
    ),
    "out_of_range": _row(
        "“{header}”须在 {low} 到 {high} 之间（读作 {shown}）：请核对数值和单位",
        "'{header}' must lie between {low} and {high} (read as {shown}); check the value and its unit",
    ),
    "duplicate_row": _row(
        "“{header}”这一行与第 {first} 行重复（{names}相同：{values}）：同一条数据只能填一行，请删去或合并重复的行",
        "'{header}': this row repeats row {first} (same {names}: {values}); one row per fact, delete or merge "
        "the repeated rows",
    ),
    "id_in_non_id_column": _row(
        "“{header}”中有疑似身份证号，已屏蔽：身份证号只能出现在建档立卡名册的身份证号列",
        "'{header}' holds what looks like an ID number, masked; ID numbers belong only in a registry's ID column",
    ),
    # --- household registries (tasks/registry/) ---
    # a rejected row of a registry: the reason begins with the submitter's header, quoted (“户主身份证号”)
    "not_a_year.registry": _row(
        "{header}应为年份：请填写四位数的年份，如 2016", "{header} should be a year; give four digits, e.g. 2016"
    ),
    "exit_before_registration": _row(
        "{header}早于{registration}：请核对这两个年份", "{header} is before {registration}; check both years"
    ),
    "id_not_18_digits": _row(
        "{header}不是 18 位（最后一位可以是 X）：请核对身份证号",
        "{header} is not 18 characters (the last may be X); check the ID number",
    ),
    "id_check_digit": _row(
        "{header}的校验位与前 17 位不符：请核对身份证号",
        "{header}: the check character does not match the first 17; check the ID number",
    ),
    "id_birth_date": _row(
        "{header}中的出生日期不是识别年度之前的真实日期：请核对身份证号",
        "{header}: the birth date in it is no real date before the registration year; check the ID number",
    ),
    "id_division_code": _row(
        "{header}的前 6 位不是现有或曾有的行政区划代码：请核对身份证号",
        "{header}: its first 6 digits are no current or former division code; check the ID number",
    ),
    "members_out_of_range": _row(
        "{header}须是 1 到 20 的整数：请填写这一户的实际人数",
        "{header} must be a whole number from 1 to 20; give the household's actual size",
    ),
    "unknown_status": _row(
        "{header}不是可接受的值：请填写 {accepted} 之一", "{header} is not an accepted value; give one of {accepted}"
    ),
    "id_in_non_id_column.registry": _row(
        "{header}中有疑似身份证号，已屏蔽：身份证号只能填在户主身份证号列",
        "{header} holds what looks like an ID number, masked; ID numbers belong only in the head's ID column",
    ),
    "malformed_line": _row(
        "此行有 {found} 个字段，表头有 {width} 列（多了分隔符或少了字段？），整行未读入 [malformed_line]",
        "this line has {found} fields, the header {width} columns (a delimiter too many, or a field missing?); "
        "the line is not read [malformed_line]",
    ),
    "malformed_line.open_quote": _row(
        "此行有未闭合的引号，整行未读入 [malformed_line]", "this line has an unclosed quote; not read [malformed_line]"
    ),
    "malformed_line.undecodable": _row(
        "此行的字节不是 {encoding} 编码的文字，整行未读入 [malformed_line]",
        "this line's bytes are not {encoding} text; not read [malformed_line]",
    ),
    "registry_not_recognised": _f(
        "不是建档立卡名册：找不到“户编号”和“户主身份证号”列：请按名册模板报送 [registry_not_recognised]",
        "not a household registry: no '户编号' and '户主身份证号' columns; send it as in the template "
        "[registry_not_recognised]",
    ),
    "registry_no_header": _f(
        "第 1 行是一户的数据（含身份证号），不是表头：请在第 1 行加上表头（户编号、户主姓名、户主身份证号码、"
        "县（市、区）、家庭人口数、脱贫状态、识别年度）后重报 [registry_no_header]",
        "row 1 is a household's data (with an ID number), not a header; add the header in row 1 (户编号, 户主姓名, "
        "户主身份证号码, 县（市、区）, 家庭人口数, 脱贫状态, 识别年度) and resend [registry_no_header]",
    ),
    "empty_file.registry": _f(
        "文件是空的：请报送填好的名册 [empty_file]", "the file is empty; send a filled-in registry [empty_file]"
    ),
    "registry_year_unknown": _f(
        "看不出名册是哪一年的：请在文件名中写明年份（如 …2017年…） [registry_year_unknown]",
        "the registry's year cannot be told; write the year in the file name (e.g. …2017年…) [registry_year_unknown]",
    ),
    "sheet_without_registry": _f(
        "已跳过工作表「{sheet}」：没有名册表头 [sheet_without_registry]",
        "sheet '{sheet}' skipped: no registry header [sheet_without_registry]",
    ),
    "sheet_columns_differ": _f(
        "已跳过工作表「{sheet}」：列与第一张名册工作表不同，请改成相同的列 [sheet_columns_differ]",
        "sheet '{sheet}' skipped: its columns differ from the first registry sheet's; use the same columns "
        "[sheet_columns_differ]",
    ),
    "sheet_continues_registry": _f(
        "工作表「{sheet}」接续名册：回执中的行号按各表连续计算，该表第 2 行记为第 {line} 行 [sheet_continues_registry]",
        "sheet '{sheet}' continues the registry: receipt line numbers run on across sheets, its row 2 is line {line} "
        "[sheet_continues_registry]",
    ),
    "pii_key_missing": _f(
        "含身份证号码的名册等待假名化密钥 [pii_key_missing]：请设置环境变量 FUPIN_PII_KEY（至少 16 个字符）"
        "或 FUPIN_PII_KEY_FILE（密钥文件），或在 Prefect 中建 Secret 块 fupin-pii-key，然后重新运行；"
        "名册已存入原始档案，届时入库",
        "a list with ID numbers waits for the pseudonymisation key [pii_key_missing]: set FUPIN_PII_KEY (at least "
        "16 characters) or FUPIN_PII_KEY_FILE (a key file), or create the Prefect Secret block fupin-pii-key, then "
        "run again; the list is in the raw archive and loads then",
    ),
    # --- the ledger: held, superseded, decided (tasks/gate.py, tasks/load.py, flows/decide.py) ---
    **{
        code: _f(
            f"暂缓入库，待人工确认 [{code}]：{{reasons}}。确认无误后执行 fupin approve {{id}}；"
            "如为误报执行 fupin discard {id} --reason 原因{earlier}",
            f"held for a person to confirm [{code}]: {{reasons}}. If correct run fupin approve {{id}}; "
            "if sent in error run fupin discard {id} --reason WHY{earlier}",
        )
        for code in ("held_unit_error", "held_outlier", "held_shrink_guard", "held_rise")
    },
    "held_superseded": _f(
        "待确认期间被更新的报送 {id}（{name}）取代，未应用 [held_superseded]；原暂缓原因：{earlier}",
        "superseded while held by the newer submission {id} ({name}), not applied [held_superseded]; "
        "held because: {earlier}",
    ),
    "superseded": _f(
        "已被更新的报送 {id}（{name}）全部取代 [superseded]",
        "wholly replaced by the newer submission {id} ({name}) [superseded]",
    ),
    "full_with_rejections": _f(
        "全量重报含退回行：文件中没有的行未撤销，仅按更正处理；请更正退回的行后重新全量报送 [full_with_rejections]",
        "full resubmission with refused rows: rows it lacks were not withdrawn, applied as a correction; correct "
        "the refused rows and resend in full [full_with_rejections]",
    ),
    "approved": _f(
        "已由 {who} 确认入库 [approved]；原暂缓原因：{earlier}",
        "approved by {who} [approved]; held because: {earlier}",
    ),
    "discarded": _f(
        "已由 {who} 放弃，未入库 [discarded]：{reason}；原暂缓原因：{earlier}",
        "discarded by {who}, not applied [discarded]: {reason}; held because: {earlier}",
    ),
    # --- the receipt of a held, discarded or superseded-while-held file, for the clerk who sent it (tasks/receipt.py)
    "receipt_held": _f(
        "本文件已收到，暂未入库：与已发布的数据相比{reasons}（原因代码 {code}）。本文件已交民政部核实确认，"
        "确认前请勿重复报送；如发现文件有误，请与民政部联系 [receipt_held]",
        "this file was received and is not loaded yet: compared with the published figures, {reasons} (reason code "
        "{code}). The Ministry is confirming it; do not send it again meanwhile; if the file is wrong, contact the "
        "Ministry [receipt_held]",
    ),
    "receipt_discarded": _f(
        "民政部核实后未采用本文件，已发布的数据保持不变 [receipt_discarded]：{reason}。核实时发现：{reasons}。"
        "请核对数据和金额单位后，只报送需要更正的行（更正/补报）",
        "after checking, the Ministry did not take this file; the published figures stay as they are "
        "[receipt_discarded]: {reason}. The check found: {reasons}. Check the figures and their units, then send only "
        "the rows to correct (a correction)",
    ),
    "receipt_discarded.full": _f(
        "民政部核实后未采用本文件，已发布的数据保持不变 [receipt_discarded]：{reason}。核实时发现：{reasons}。"
        "本文件按全量重报处理，文件中没有的行会被撤销：如只需更正部分行，请只报送这些行，文件名中不要注明“全量”或“重报”；"
        "如确需全量重报，请报送所涉年度的完整报表",
        "after checking, the Ministry did not take this file; the published figures stay as they are "
        "[receipt_discarded]: {reason}. The check found: {reasons}. It was read as a full resubmission, which retires "
        "the rows it lacks: to correct some rows, send only those, without 全量 or 重报 in the file name; to resubmit "
        "in full, send the complete form of the years it covers",
    ),
    "receipt_held_superseded": _f(
        "本文件在民政部核实期间已被本省更新的报送（{name}）取代，未入库；以更新的报送为准，无需再报送 "
        "[receipt_held_superseded]",
        "while the Ministry was checking it, this file was replaced by the province's newer submission ({name}) and "
        "was not loaded; the newer one stands, nothing to send [receipt_held_superseded]",
    ),
    "submission_not_found": _c(
        "没有编号为 {id} 的报送 [submission_not_found]", "no submission with id {id} [submission_not_found]"
    ),
    "submission_not_held": _c(
        "报送 {id}（{name}）的状态是 {status}，不是待确认（held），无需也不能再确认或放弃{why} [submission_not_held]",
        "submission {id} ({name}) is {status}, not held; it cannot be approved or discarded{why} [submission_not_held]",
    ),
    "reason_required": _c(
        "放弃一份待确认的报送须说明原因（--reason） [reason_required]",
        "discarding a held submission needs a reason (--reason) [reason_required]",
    ),
    # --- the warehouse (tasks/load.py) ---
    "warehouse_held": _r(
        "仓库 {warehouse} 正被另一个进程（PID {pid}）以读写方式打开并有未写入文件的修改，"
        "本次运行未改动仓库；请对方提交并关闭连接（分析请用只读连接：fupin query 或 duckdb -readonly）"
        "后重新运行 [warehouse_held]",
        "the warehouse {warehouse} is open read-write in another process (PID {pid}) with changes not yet in the "
        "file; this run left it unchanged; have them commit and close (analysts: a read-only connection, fupin "
        "query or duckdb -readonly) and run again [warehouse_held]",
    ),
    "warehouse_changed_during_run": _r(
        "运行期间{who}写入了仓库 {warehouse}：为不丢失其数据，本次运行未替换仓库；"
        "请在对方关闭连接后重新运行 [warehouse_changed_during_run]",
        "{who} wrote to the warehouse {warehouse} during the run; not to lose their data, this run did not replace "
        "it; run again once they closed their connection [warehouse_changed_during_run]",
    ),
    "schema_too_new": _r(
        "仓库的结构版本为 {found}，比本程序支持的 {current} 新（由更新版本的 fupin 写入）："
        "本次未改动仓库；请升级 fupin 后重新运行 [schema_too_new]",
        "the warehouse has schema version {found}, newer than this code's {current} (written by a newer fupin); "
        "this run left it unchanged; upgrade fupin and run again [schema_too_new]",
    ),
    # --- fupin check (tasks/check.py) ---
    "unknown_province": _c(
        "--province {province}：{error} [unknown_province]", "--province {province}: {error} [unknown_province]"
    ),
    "province_required": _c(
        "不知道 {name} 是哪个省份报送的："
        "请用 --province 指明（省代码、省名或拼音，如 43、湖南、hunan） [province_required]",
        "which province sent {name} is not known; name it with --province (code, Chinese name or pinyin, e.g. 43, "
        "湖南, hunan) [province_required]",
    ),
    "file_not_found": _c(
        "没有文件 {path}（或不是普通文件） [file_not_found]", "no file {path} (or not a regular file) [file_not_found]"
    ),
    "check_tmp_in_home": _c(
        "临时目录 {root} 在数据目录之内：请把 TMPDIR 设到数据目录之外 [check_tmp_in_home]",
        "the temporary folder {root} is inside the home; set TMPDIR outside it [check_tmp_in_home]",
    ),
    "check_loads": _c("结论：可全部入库 [check_loads]", "verdict: every row would load [check_loads]"),
    "check_loads.duplicate": _c(
        "结论：各行都可入库，但本文件已收到过，运行时不会再次入库 [check_loads]",
        "verdict: every row would load, but this file was received before and a run will not load it again "
        "[check_loads]",
    ),
    "rejected.check": _c("整份文件将被退回 [rejected]", "the whole file would be refused [rejected]"),
    "check_held": _c(
        "结论：将暂缓入库，待人工确认（fupin approve / discard） [check_held]",
        "verdict: it would be held for a person to confirm (fupin approve / discard) [check_held]",
    ),
    "check_rejected": _c(
        "结论：有行或整份文件将被退回，请按上面的原因更正 [check_rejected]",
        "verdict: rows or the whole file would be refused; correct them as said above [check_rejected]",
    ),
    "duplicate.check": _c(
        "注意：与已收到的报送 {original} 内容完全相同，运行时记为重复，不再入库 [duplicate]",
        "note: same content as the submission {original} already received; a run records it as a duplicate and "
        "does not load it [duplicate]",
    ),
    # --- the reporting calendar (tasks/calendar.py) ---
    "calendar_due_invalid": _r(
        "{where}的 due（截止日期）“{value}”不是月-日（如 03-01）或日期（如 2019-03-01）：请改正 [calendar_due_invalid]",
        "{where}: due '{value}' is neither month-day (e.g. 03-01) nor a date (e.g. 2019-03-01); correct it "
        "[calendar_due_invalid]",
    ),
    "calendar_year_invalid": _r(
        "{where}的 years（年份）中的“{value}”不是 {first}–{last} 之间的整数年份："
        "请写成如 2017 的年份 [calendar_year_invalid]",
        "{where}: '{value}' in years is not a whole year from {first} to {last}; write a year such as 2017 "
        "[calendar_year_invalid]",
    ),
    "calendar_invalid.list": _r(
        "{where}的 {key}（{what}）应是一个列表，如 {key}: [...]：请改正 [calendar_invalid]",
        "{where}: {key} ({what}) should be a list, e.g. {key}: [...]; correct it [calendar_invalid]",
    ),
    "calendar_invalid.yaml": _r(
        "{file}：不是有效的 YAML（{error}）：请改正 [calendar_invalid]",
        "{file}: not valid YAML ({error}); correct it [calendar_invalid]",
    ),
    "calendar_invalid.expected": _r(
        "{file}：expected 应是一个列表（每项一条应报要求）：请改正 [calendar_invalid]",
        "{file}: expected should be a list (one expected submission each); correct it [calendar_invalid]",
    ),
    "calendar_invalid.entry": _r(
        "{where}须有 provinces、datasets、years 和 due 四项：请补全 [calendar_invalid]",
        "{where} needs all of provinces, datasets, years and due; complete it [calendar_invalid]",
    ),
    "calendar_invalid.provinces": _r(
        "{where}的 provinces（省份）：{error} [calendar_invalid]", "{where}: provinces: {error} [calendar_invalid]"
    ),
    "calendar_invalid.datasets": _r(
        "{where}的 datasets（数据集）中有未知的 {unknown}（可用：{known}） [calendar_invalid]",
        "{where}: unknown datasets {unknown} (known: {known}) [calendar_invalid]",
    ),
    # --- a home, its warehouse, a run (fupin/core/home.py, tasks/archive.py, tasks/summary.py) ---
    "home_not_writable": _r(
        "数据目录不可写：{path}（{why}）。运行要写入原始档案、湖和仓库：用 chmod u+w 恢复写权限，"
        "或用 --home 指定一个可写的目录；只读的目录仍可用 fupin query / fupin indicators 查询 [home_not_writable]",
        "the home cannot be written: {path} ({why}). A run writes the raw archive, the lake and the warehouse: "
        "restore write permission with chmod u+w, or name a writable folder with --home; a read-only home can "
        "still be read with fupin query / fupin indicators [home_not_writable]",
    ),
    # --- the raw archive (fupin/core/raw.py, fupin doctor --verify-archive) ---
    "raw_corrupt": _r(
        "原始档案文件 {path} 已损坏：内容的 SHA-256（{found}…）与收到时（{expected}…）不符，不能再读取："
        "从备份恢复该文件，或请报送单位重新报送 [raw_corrupt]",
        "the raw archive's file {path} is damaged: its content's SHA-256 ({found}…) is not the one received "
        "({expected}…) and it is not read; restore it from a backup or have it sent again [raw_corrupt]",
    ),
    "raw_corrupt.zstd": _r(
        "原始档案文件 {path} 已损坏：压缩数据无法解压（{error}），不能再读取："
        "从备份恢复该文件，或请报送单位重新报送 [raw_corrupt]",
        "the raw archive's file {path} is damaged: its compressed data cannot be decompressed ({error}) and it "
        "is not read; restore it from a backup or have it sent again [raw_corrupt]",
    ),
    "raw_corrupt.unreadable": _r(
        "原始档案文件 {path} 无法读取（{error}）：检查其权限，或从备份恢复该文件 [raw_corrupt]",
        "the raw archive's file {path} cannot be read ({error}); check its permissions or restore it from a "
        "backup [raw_corrupt]",
    ),
    "raw_missing": _r(
        "原始档案文件 {path} 不存在（报送 {submission}，{name}）：从备份恢复该文件 [raw_missing]",
        "the raw archive's file {path} is missing (submission {submission}, {name}); restore it from a backup "
        "[raw_missing]",
    ),
    "raw_checked": _c(
        "原始档案：{count} 个文件完好，其余见下 [raw_checked]",
        "raw archive: {count} files intact, the others below [raw_checked]",
    ),
    "raw_verified": _c(
        "原始档案：{count} 个文件的 SHA-256 均与收到时一致 [raw_verified]",
        "raw archive: the SHA-256 of all {count} files is the one received [raw_verified]",
    ),
    "warehouse_unrecoverable": _r(
        "仓库 {warehouse} 无法读取（{why}），且没有台账副本（{ledger}）可供重建："
        "请从备份恢复仓库，或运行 fupin doctor 查看 [warehouse_unrecoverable]",
        "the warehouse {warehouse} cannot be read ({why}) and there is no ledger copy ({ledger}) to rebuild it "
        "from; restore it from a backup, or run fupin doctor [warehouse_unrecoverable]",
    ),
    "households_not_migrated": _r(
        "仓库升级要把建档立卡户从湖文件读入仓库，但其中 {count} 个文件不存在（如 {example}）：仓库未改动；"
        "请从备份恢复湖目录后再运行，或运行 fupin doctor 查看 [households_not_migrated]",
        "upgrading the warehouse reads the registered households from the lake into it, but {count} of those files "
        "are gone (e.g. {example}): the warehouse is unchanged; restore the lake from a backup and run again, or run "
        "fupin doctor [households_not_migrated]",
    ),
    "lake_partition_missing": _r(
        "湖分区 {partition}（{dataset}，{province} {year} 年）缺少 {count} 个报送的文件（如 {example}）：仓库里的这些"
        "数据只剩这一份，重建仓库（rebuild-warehouse）或仓库损坏后的恢复会丢失它们；请从备份恢复该目录，或运行 "
        'backfill（provinces=["{province_code}"]，years=[{year}]）从原始档案重新处理 [lake_partition_missing]',
        "lake partition {partition} ({dataset}, {province} {year}) lacks the files of {count} submissions (e.g. "
        "{example}): the warehouse's copy of those facts is the only one left, and a rebuild (rebuild-warehouse) or "
        "a recovery of a damaged warehouse would lose them; restore the folder from a backup, or run backfill "
        '(provinces=["{province_code}"], years=[{year}]) to process the raw archive again [lake_partition_missing]',
    ),
    "warehouse_rebuilt": _r(
        "{what}，已从湖和台账副本重建（{count} 份报送） [warehouse_rebuilt]",
        "{what}, rebuilt from the lake and the ledger copies ({count} submissions) [warehouse_rebuilt]",
    ),
    "headline_incomplete": _r(
        "{n} 项主要指标缺县，已如实标注（其余数据照常入库）：{figures} [headline_incomplete]",
        "{n} headline figures lack counties and are marked so (everything else loaded): {figures} "
        "[headline_incomplete]",
    ),
    "run_crashed": _r(
        "运行中断，进程已不在（由下一次运行发现）[run_crashed]: noticed at {at}",
        "run interrupted, its process is gone (found by the next run) [run_crashed]: noticed at {at}",
    ),
    # --- a run's failures and lines, as the worker log, `fupin run` and --quiet say them (tasks/summary.py,
    # flows/nightly.py, fupin/cli/run.py, fupin/deploy.py) ---
    "run_failed": _r(
        "{count} 个省份未能入库（{provinces}），其他省份已入库：{reasons} [run_failed]",
        "{count} province(s) failed ({provinces}); the others loaded: {reasons} [run_failed]",
    ),
    "source_failed": _r(
        "报送来源 {url} 读取失败（共尝试 {tries} 次）：{error} [source_failed]",
        "the source {url} could not be read ({tries} attempts): {error} [source_failed]",
    ),
    "run_counts": _r(
        "收到 {received} 个文件：{statuses}；入库 {loaded:,} 行，退回 {rejected:,} 行 [run_counts]",
        "received {received} files: {statuses}; {loaded:,} rows loaded, {rejected:,} rows rejected [run_counts]",
    ),
    "registry_mismatch": _r(
        "建档立卡名册与县级报表不符（相差超过 0.5%）：{county} {year} 年贫困人口 {registry_poor} 对 {declared_poor}，"
        "脱贫人口 {registry_lifted} 对 {declared_lifted} [registry_mismatch]",
        "registry ≠ county figures (over 0.5%): {county} {year}: poor {registry_poor} vs {declared_poor}, lifted "
        "{registry_lifted} vs {declared_lifted} [registry_mismatch]",
    ),
    "data_test_rows": _r(
        "数据检验 {test} 未通过：{rows} 行不符 [data_test_rows]",
        "data test {test}: {rows} offending rows [data_test_rows]",
    ),
    "run_not_finished": _c(
        "运行未能完成：{error} [run_not_finished]",
        "the run did not finish: {error} [run_not_finished]",
    ),
    "server_not_started": _c(
        "Prefect 临时服务器未能在 {seconds} 秒内启动：请调大 PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS，"
        "或先启动 prefect server start 并设置 PREFECT_API_URL=http://127.0.0.1:4200/api [server_not_started]",
        "Prefect's temporary server did not start in time ({seconds} s): raise "
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, or start `prefect server start` once and set "
        "PREFECT_API_URL=http://127.0.0.1:4200/api [server_not_started]",
    ),
    "server_unreachable": _c(
        "无法连接 Prefect 服务器 {url}（{error}）：请先启动服务器，或检查 PREFECT_API_URL [server_unreachable]",
        "cannot reach the Prefect server {url} ({error}): start it, or check PREFECT_API_URL [server_unreachable]",
    ),
    # --- the nightly report (tasks/report/): a reason stored as an engineer's text is shown as one of these ---
    "failure_logged": _r(
        "{what}未能处理，技术详情已记入运行日志：请管理员查看（fupin doctor） [failure_logged]",
        "{what} could not be processed; the technical detail is in the run's log [failure_logged]",
    ),
    "reason_unrecorded": _r(
        "原因未以中文记录（由旧版本写入）：请用 fupin submissions --id 查看 [reason_unrecorded]",
        "the reason was not recorded in Chinese (written by an older version); see fupin submissions --id "
        "[reason_unrecorded]",
    ),
    "receipt_rewritten": _c(
        "已按台账重写 {count} 份回执（与台账不符 {stale} 份，缺失 {missing} 份） [receipt_rewritten]",
        "rewrote {count} receipts from the ledger ({stale} stale, {missing} missing) [receipt_rewritten]",
    ),
    # --- reading the warehouse (fupin/core/readonly.py, fupin query, fupin indicators, fupin export) ---
    "query_syntax": _c(
        "查询语句无法解析 [query_syntax]: {error}", "the query cannot be parsed [query_syntax]: {error}"
    ),
    "query_not_single": _c(
        "每次只能执行一条查询语句，收到 {count} 条 [query_not_single]",
        "one statement per query, received {count} [query_not_single]",
    ),
    "query_not_select": _c(
        "只允许只读查询（SELECT），不允许 {statement} 语句 [query_not_select]",
        "read-only queries (SELECT) only, not {statement} [query_not_select]",
    ),
    "access_denied": _c(
        "分析连接只能读取仓库，不能访问其他文件或扩展 [access_denied]: {error}",
        "an analyst's connection reads the warehouse only, no other file or extension [access_denied]: {error}",
    ),
    "config_locked": _c(
        "分析连接的设置已锁定，不能修改 [config_locked]: {error}",
        "an analyst's connection's settings are locked [config_locked]: {error}",
    ),
    "moment_invalid": _c(
        "{option} 的值“{text}”不是日期（如 2018-10-30）或 ISO 日期时间（如 2018-10-30T18:00） [moment_invalid]",
        "{option} '{text}' is not a date (2018-10-30) or an ISO date-time (2018-10-30T18:00) [moment_invalid]",
    ),
    "no_warehouse": _c(
        "{path} 还没有仓库：请先运行 fupin run [no_warehouse]",
        "no warehouse at {path}: run `fupin run` first [no_warehouse]",
    ),
    "warehouse_unreadable": _c(
        "仓库无法打开 [warehouse_unreadable]: {path}: {error}",
        "the warehouse cannot be opened [warehouse_unreadable]: {path}: {error}",
    ),
    "before_first_submission": _c(
        "{as_of} 时尚无已发布的指标：{earliest} [before_first_submission]",
        "no indicator was published yet at {as_of}: {earliest} [before_first_submission]",
    ),
    "no_calendar": _c(
        "没有报送日历 {file}：下面只列出已收到、待确认、失败和已放弃的报送；判断迟报与未报需要报送日历，"
        "请参照 warehouse/seeds/calendar.demo.yaml 编写 [no_calendar]",
        "no reporting calendar {file}: only what was received, held, failed or discarded is listed; lateness needs "
        "a calendar, write one after warehouse/seeds/calendar.demo.yaml [no_calendar]",
    ),
    "unknown_submission": _c(
        "没有编号为 {id} 的报送 [unknown_submission]", "no submission with id {id} [unknown_submission]"
    ),
    "unknown_province.named": _c(
        "没有这个省份：{value}；请给 2 位代码（如 43）、中文名称（湖南、湖南省）或拼音（hunan） [unknown_province]",
        "no such province: {value}; give a 2-digit code (43), a Chinese name or pinyin (hunan) [unknown_province]",
    ),
    "status_filter_unknown": _c(
        "没有这个状态：{value}；可用的状态：{known} [status_filter_unknown]",
        "no such status: {value}; the statuses: {known} [status_filter_unknown]",
    ),
    "demo_calendar_not_written": _c(
        "未写入演示的报送日历：--out 只写收件箱；请用 --home 主目录（或设置 FUPIN_HOME）再运行一次，"
        "或把 {calendar} 复制为 <主目录>/config/calendar.yaml [demo_calendar_not_written]",
        "the demo's reporting calendar was not written: --out writes the inbox only; run again with --home HOME (or "
        "FUPIN_HOME set), or copy {calendar} to <home>/config/calendar.yaml [demo_calendar_not_written]",
    ),
    "unknown_language": _c(
        "--lang 只能是 {languages}（收到 {lang}） [unknown_language]",
        "--lang must be {languages} (received {lang}) [unknown_language]",
    ),
    "run_in_progress": _c(
        "有一次运行正在进行：等它结束后再执行 fupin doctor --fix [run_in_progress]",
        "a run is in progress; run fupin doctor --fix once it ended [run_in_progress]",
    ),
    "ok": _c("一切正常 [ok]", "all is well [ok]"),
    "unknown_table": _c(
        "仓库中没有表 {name}；可导出的表：{known} [unknown_table]",
        "no table {name} in the warehouse; tables to export: {known} [unknown_table]",
    ),
    "unknown_format": _c(
        "不支持的格式 {format}：请用 xlsx 或 csv [unknown_format]",
        "format {format} not supported; use xlsx or csv [unknown_format]",
    ),
    "choose_one": _c(
        "请在 --indicators 与 --table NAME 中选且只选一项 [choose_one]",
        "give exactly one of --indicators and --table NAME [choose_one]",
    ),
    "explain_unknown_indicator": _c(
        "没有已发布的指标“{indicator}”；{near} [explain_unknown_indicator]",
        "no published indicator '{indicator}'; {near} [explain_unknown_indicator]",
    ),
    "explain_unknown_scope": _c(
        "指标“{indicator}”没有范围“{scope}”的数值；{near} [explain_unknown_scope]",
        "indicator '{indicator}' has no figure for scope '{scope}'; {near} [explain_unknown_scope]",
    ),
    "explain_unknown_period": _c(
        "指标“{indicator}”在{scope}没有期间“{period}”的数值；{near} [explain_unknown_period]",
        "indicator '{indicator}' has no figure for {scope} in period '{period}'; {near} [explain_unknown_period]",
    ),
}
CATALOGUE.update({f"limit_{name}": _limit(name) for name in LIMIT_NAMES})


_FIELD = re.compile(r"\{([a-z_]+)(?::[^{}]*)?\}")
KIND_NAMES = {
    "zh": {"file": "报送文件", "row": "行", "run": "运行与数据目录", "command": "命令"},
    "en": {"file": "submission", "row": "row", "run": "run and home", "command": "command"},
}


def catalogue_rows(lang: str = "zh") -> list[dict[str, str]]:
    """The catalogue as the data dictionary lists it: code, kind and wording (each ``{field}`` as …), by code."""
    rows = [
        {
            "code": key.split(".", 1)[0],
            "kind": KIND_NAMES[lang][entry.kind],
            "text": _FIELD.sub("…", getattr(entry, lang)),
        }
        for key, entry in CATALOGUE.items()
    ]
    return sorted(rows, key=lambda r: r["code"])


def limit_message(name: str, limit: int, found: int, what: str) -> Message:
    """The message of a file beyond limit ``name`` (``FUPIN_LIMIT_<NAME>``)."""
    return message(f"limit_{name}", what=what, limit=limit, found=found)
