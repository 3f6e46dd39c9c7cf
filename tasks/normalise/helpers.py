"""Pure helpers of the normaliser: headers → canonical columns, cells → typed values.

Nothing here knows about files or Prefect; ``tasks.normalise.normalise_table`` strings them together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from difflib import SequenceMatcher
from functools import cache

from fupin.chinese import simplified
from tasks.normalise.context import stated_year
from tasks.normalise.settings import SUBTOTAL_LABELS
from tasks.normalise.values import (
    CellError,
    check_count,
    check_magnitude,
    money_factor,
    parse_number,
    to_halfwidth,
    unit_in_header,
)
from warehouse.contracts import Column, Contract, contracts

CENT = Decimal("0.01")


_NUMBERING = re.compile(
    r"^(?:\d+(?:\.\d+)*[.、)]|[一二三四五六七八九十]+[、.]|[(（][一二三四五六七八九十\d]+[)）]|[①-⑳])"
)
_TRAILING_UNIT = re.compile(r"单位[:：](?P<unit>[^:：]+)$")
_BRACKETS = re.compile(r"[(（\[【][^()（）\[\]【】]*[)）\]】]")
_PUNCTUATION = re.compile(r"[、,，:：;；/\\.()（）\[\]【】\"'“”‘’·*#]")


def clean_label(label: str) -> tuple[str, str | None]:
    """A header label as a person reads it, lower-cased, and its unit.

    Spaces, line breaks and width differences go; so do the numbering of the form ('1.', '一、',
    '（一）') and a unit in brackets or after 单位： ('金额（万元）', '人口 单位：人').
    """
    text = re.sub(r"\s+", "", simplified(to_halfwidth(label or "")))  # 資金級次 reads as 资金级次
    text = _NUMBERING.sub("", text)
    trailing = _TRAILING_UNIT.search(text)
    if trailing and trailing.start() > 0:
        base, unit = unit_in_header(text[: trailing.start()])
        unit = unit or unit_in_header(f"x({trailing['unit'].strip('()（）')})")[1]
    else:
        base, unit = unit_in_header(text)
    # 'Rural Population', 'rural_population' and 'rural-population' are one label
    base = re.sub(r"[_\-]+", "", base.strip(":：").lower())
    return base, unit


def bare_label(cleaned: str) -> str:
    """A cleaned label with brackets' contents and punctuation gone: 县（市、区）名称 → 县市区名称."""
    return _PUNCTUATION.sub("", cleaned)


@dataclass
class Vocabulary:
    """How one dataset's columns are headed: exact synonyms, operator synonyms and meaning-bearing words.

    ``words`` are scored: the longer the word found in a label, the surer; a word that ends the label
    (the head of a Chinese noun phrase: 资金**级次**) counts one more; a field whose ``not_words``
    appear in the label (未 for lifted population) does not compete.
    """

    synonyms: dict[str, tuple[str, ...]]
    words: dict[str, tuple[str, ...]] = field(default_factory=dict)
    not_words: dict[str, tuple[str, ...]] = field(default_factory=dict)
    operator: dict[str, tuple[str, ...]] = field(default_factory=dict)
    fund_types: dict[str, tuple[str, ...]] = field(default_factory=dict)
    fund_levels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    default_level: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # field → the label a clerk would write

    def __post_init__(self) -> None:
        self._synonyms = _lookup(tuple((k, tuple(v)) for k, v in self.synonyms.items()))
        self._operator = _lookup(tuple((k, tuple(v)) for k, v in self.operator.items()))

    def exact(self, label: str) -> tuple[str, str] | None:
        """(field, how) when the cleaned label is a known heading of a field."""
        if label in self._operator:
            return self._operator[label], "operator"
        if label in self._synonyms:
            return self._synonyms[label], "exact" if label == self._synonyms[label] else "synonym"
        return None

    def scores(self, label: str) -> dict[str, int]:
        """Field → how strongly the label's words mean it (0 fields when none)."""
        bare = bare_label(label)
        out = {}
        for name, words in self.words.items():
            if any(w in bare for w in self.not_words.get(name, ())):
                continue
            best = max((len(w) + bare.endswith(w) for w in words if w in bare), default=0)
            if best >= MIN_WORD_SCORE:
                out[name] = best
        return out


MIN_WORD_SCORE = 2


@cache
def _lookup(table: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[str, str]:
    return {clean_label(syn)[0]: key for key, syns in table for syn in syns}


def _find(table: dict[str, tuple[str, ...]], label: str) -> str | None:
    return _lookup(tuple((k, tuple(v)) for k, v in table.items())).get(label)


@dataclass
class HeaderMap:
    """Where each canonical column sits in a table, how each header was matched, and what was not understood."""

    columns: dict[str, int] = field(default_factory=dict)
    units: dict[int, str] = field(default_factory=dict)
    wide: dict[int, tuple[str, str]] = field(default_factory=dict)  # column → (fund_type, fund_level)
    unknown: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)  # '表头（county 或 county_code）'
    mapping: list[dict[str, str]] = field(default_factory=list)  # submitted_header, column_name, matched_by

    def has(self, name: str) -> bool:
        """True when the canonical column (or one of 'a|b' alternatives) is present."""
        names = name.split("|")
        if "fund_type" in names or "amount" in names:
            if self.wide:
                return True
        return any(n in self.columns for n in names)

    def _place(self, index: int, label: str, name: str, how: str) -> None:
        if name == "ignore":
            return
        if name in self.columns:
            self.unknown.append(label)
            return
        self.columns[name] = index
        self.mapping.append({"submitted_header": label, "column_name": name, "matched_by": how})


def map_header(header: list[str], vocab: Vocabulary) -> HeaderMap:
    """Map the submitter's header labels to a dataset's canonical columns and wide fund columns."""
    out = HeaderMap()
    level_labels = {clean_label(s)[0] for s in SUBTOTAL_LABELS}
    for i, label in enumerate(header):
        if not label or not str(label).strip():
            continue
        parts = [clean_label(p) for p in str(label).split("/") if p.strip()]
        base, unit = parts[-1]
        units = [u for _, u in parts if u]
        if units:
            out.units[i] = units[-1]
        wide = _wide_column(parts, vocab, level_labels)
        if wide == "subtotal":
            continue  # a subtotal column of a wide form: the parts carry the data
        if wide:
            out.wide[i] = wide
            out.mapping.append(
                {
                    "submitted_header": str(label),
                    "column_name": f"amount_yuan[{wide[0]}/{wide[1]}]",
                    "matched_by": "wide",
                }
            )
            continue
        candidates = (base, "".join(p for p, _ in parts), parts[0][0])
        hit = next((h for h in map(vocab.exact, candidates) if h), None)
        if hit:
            out._place(i, str(label), *hit)
            continue
        scores = vocab.scores(base) or vocab.scores("".join(p for p, _ in parts))
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        if not ranked:
            out.unknown.append(str(label))
        elif len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
            out.ambiguous.append(f"{label}（{ranked[0][0]} 或 {ranked[1][0]}）")
        else:
            out._place(i, str(label), ranked[0][0], "words")
    return out


def _wide_column(parts: list[tuple[str, str | None]], vocab: Vocabulary, subtotal: set[str]):
    """(fund_type, fund_level) of a wide fund column such as 下达资金（万元）/民政事业费/中央, 'subtotal', or None."""
    if not vocab.fund_types:
        return None
    base = parts[-1][0]
    # three header rows put the fund type in the middle: 下达资金（万元）/民政事业费/中央
    typed = [k for k, (p, _) in enumerate(parts) if _find(vocab.fund_types, p)]
    if not typed:
        return None
    at = typed[0]
    fund_type = _find(vocab.fund_types, parts[at][0])
    if at == len(parts) - 1:
        return (fund_type, vocab.default_level[fund_type]) if fund_type in vocab.default_level else None
    if base in subtotal:
        return "subtotal"
    level = _find(vocab.fund_levels, base)
    if level:
        return fund_type, level
    return None


def detect_dataset(
    header: list[str],
    vocabularies: dict[str, Vocabulary],
    required: dict[str, tuple[str, ...]],
    year_known: bool,
    stated: frozenset[str] = frozenset(),
) -> tuple[str | None, HeaderMap, str | None, list[str]]:
    """(dataset, its header map, None, []) when the columns identify one; else (None, closest map, reason, missing).

    ``stated``: fields the form states outside its header (fund_type in its title), which need no column.
    """
    best: tuple[int, int, str, HeaderMap, list[str]] | None = None
    known = {"year"} if year_known else set()
    known |= stated
    for dataset, vocab in vocabularies.items():
        hmap = map_header(header, vocab)
        missing = [r for r in required[dataset] if not (hmap.has(r) or known & set(r.split("|")))]
        score = (len(required[dataset]) - len(missing), len(hmap.mapping))
        if best is None or score > best[:2]:
            best = (*score, dataset, hmap, missing)
    assert best is not None
    found, _, dataset, hmap, missing = best
    if not missing:
        return dataset, hmap, None, []
    if found >= 2 and hmap.has("county|county_code"):
        return None, hmap, missing_columns_message(dataset, missing, hmap, vocabularies[dataset]), missing
    return None, hmap, f"无法从表头识别是哪一种报表 [{UNRECOGNISED_CODE}]", []


def vocabularies(operator: dict[str, dict[str, list[str]]] | None = None) -> dict[str, Vocabulary]:
    """Each dataset's vocabulary from its contract, with the operators' headers.yaml synonyms.

    An operator may name a field ('fund_level', 'amount') or its canonical column ('amount_yuan').
    """
    out = {}
    for dataset, contract in contracts().items():
        fields = [*contract.inputs, *contract.columns]
        by_column = {c.name: c.field for c in contract.columns}
        extra = ((operator or {}).get(dataset) or {}).items()
        coded = {c.name: c for c in contract.columns if c.values}
        types, levels = coded.get("fund_type"), coded.get("fund_level")
        out[dataset] = Vocabulary(
            synonyms={f.field: f.headers for f in fields if f.headers},
            words={f.field: f.words for f in fields if f.words},
            not_words={f.field: f.not_words for f in fields if f.not_words},
            operator={by_column.get(name, name): tuple(labels) for name, labels in extra},
            fund_types=_values(types) if types else {},
            fund_levels=_values(levels) if levels else {},
            default_level={v.code: v.default_level for v in types.values if v.default_level} if types else {},
            labels={f.field: f.label or f.zh or (f.headers or ("",))[0] for f in fields},
        )
    return out


def _values(column: Column) -> dict[str, tuple[str, ...]]:
    return {v.code: v.headers for v in column.values}


MISSING_COLUMN_CODE = "missing_required_column"
UNRECOGNISED_CODE = "dataset_unrecognised"


def missing_columns_message(dataset: str, missing: list[str], hmap: HeaderMap, vocab: Vocabulary) -> str:
    """One line for a clerk: the missing column(s), the headers not understood, the closest candidates."""
    names = "、".join("或".join(f"“{column_label(m, vocab)}”" for m in alt.split("|")) for alt in missing)
    unread = [*hmap.unknown, *hmap.ambiguous]
    closest = []
    for alt in missing:
        for name in alt.split("|"):
            heads = [*vocab.synonyms.get(name, ()), *vocab.operator.get(name, ())]
            for label in unread:
                cleaned = clean_label(label.split("（")[0])[0]
                ratio = max((SequenceMatcher(None, cleaned, clean_label(h)[0]).ratio() for h in heads), default=0)
                if ratio >= 0.4:
                    closest.append((ratio, f"“{label}”→“{column_label(name, vocab)}”"))
    closest.sort(key=lambda c: -c[0])
    if closest:
        hint = f"表头可能写错了，最接近的是：{'、'.join(c for _, c in closest[:3])}"
    else:
        accepted = [
            h
            for alt in missing
            for name in alt.split("|")
            for h in vocab.synonyms.get(name, ())
            if re.search(r"[\u4e00-\u9fff]", h)
        ][:6]
        hint = f"表头可写作：{'、'.join(accepted)}"
    zh = contracts()[dataset].zh
    return (
        f"像是“{zh}”报表，但缺少必填列{names}（未识别的表头：{'、'.join(unread) or '无'}）；"
        f"{hint}；请按报表模板补上这一列后重新报送 [{MISSING_COLUMN_CODE}]"
    )


def column_label(canonical: str, vocab: Vocabulary | None = None) -> str:
    """A canonical field as a clerk would head it: '未脱贫人口' (the field itself when it has no label)."""
    label = vocab.labels.get(canonical) if vocab else None
    return label or canonical


def year_from_context(context: dict, file_name: str) -> int | None:
    """A year stated once for the whole table: JSON metadata, the title, or the file name (which must agree)."""
    stated = stated_year(context, file_name)
    return int(stated.value) if stated else None


def sheet_unit(context: dict) -> str | None:
    """The unit stated for the whole sheet (a 单位 row or JSON metadata), if any."""
    unit = context.get("unit") or (context.get("metadata") or {}).get("单位")
    return to_halfwidth(str(unit)).strip() if unit else None


def to_yuan(text: str | None, column_unit: str | None, default_unit: str | None) -> Decimal | None:
    """Money in yuan from a cell; the cell's own unit wins over the column's and the sheet's."""
    value, cell_unit = parse_number(text)
    if value is None:
        return None
    if cell_unit == "%":
        raise CellError(f"应为金额，填写的却是百分数「{text}」：请填写金额", "money_is_percent")
    unit = cell_unit or column_unit or default_unit
    factor = money_factor(unit) if unit else 1
    if factor is None:
        raise CellError(f"的金额单位「{unit}」无法识别：单位只能是 元、万元 或 亿元", "unknown_money_unit")
    return check_magnitude((value * factor).quantize(CENT), text)


def plain_factor(column_unit: str | None, default_unit: str | None) -> int | None:
    """Yuan per unit of an amount whose cell states no unit, as ``to_yuan`` reads it; None if that unit is no money."""
    unit = column_unit or default_unit
    return money_factor(unit) if unit else 1


def to_count(text: str | None) -> int | None:
    """A whole number of persons, sessions or households."""
    value, unit = parse_number(text)
    if value is None:
        return None
    if unit == "%":
        raise CellError(f"应为人数或次数，填写的却是百分数「{text}」：请填写整数", "count_is_percent")
    if value != value.to_integral_value():
        raise CellError(f"应为整数，填写的是「{text}」：人数、户数、次数不能有小数", "not_whole_number")
    return check_count(int(value), text)


def to_fraction(text: str | None, column_unit: str | None, default_unit: str | None) -> float | None:
    """A rate as a fraction: '3.17%', 3.17 under a (%) header, or 0.0317."""
    value, unit = parse_number(text)
    if value is None:
        return None
    percent = unit == "%" or column_unit == "%" or (default_unit is not None and "%" in default_unit)
    if percent or value > 1:
        value = value / 100
    return float(value)


def code_of(text: str | None, column: Column) -> str:
    """The code of a coded cell (民政事业费 → civil_affairs), by the contract's value vocabulary."""
    found = _find(_values(column), clean_label(text or "")[0])
    if not found:
        accepted = "、".join(v.zh for v in column.values)
        raise CellError(f"填写的「{text}」不是可接受的值：请填写 {accepted} 之一", f"unknown_{column.name}")
    return found


def fund_level_of(text: str | None, fund_type: str, contract: Contract) -> str:
    """Canonical fund level of a long-form cell like 中央 / 省级; a centre-only fund type needs none."""
    column = contract.column("fund_level")
    expected = " 或 ".join(v.zh for v in column.values)
    if text is None or not text.strip():
        default = next((v.default_level for v in contract.column("fund_type").values if v.code == fund_type), None)
        if default:
            return default
        raise CellError(f"为空：这类资金须写明级次，请填写 {expected}", "fund_level_empty")
    found = _find(_values(column), clean_label(text)[0])
    if not found:
        raise CellError(f"填写的「{text}」不是可接受的资金级次：请填写 {expected}", "unknown_fund_level")
    return found
