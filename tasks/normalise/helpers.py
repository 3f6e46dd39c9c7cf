"""Pure helpers of the normaliser: headers → canonical columns, cells → typed values.

Nothing here knows about files or Prefect; ``tasks.normalise.normalise_table`` strings them together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import cache

from fupin.core.chinese import simplified
from fupin.core.messages import say
from fupin.tasks.normalise.context import stated_year
from fupin.tasks.normalise.settings import LEVEL_AFFIXES, NOT_THIS_YEAR, SUBTOTAL_LABELS
from fupin.tasks.normalise.values import CellError, to_halfwidth, unit_in_header
from fupin.warehouse.contracts import Column, Contract, contracts

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
    money: frozenset[str] = frozenset()  # fields of money (an amount qualified as not this year's is not one)

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


@dataclass(frozen=True)
class WideKey:
    """What a wide column's header says of its cells' facts: a year, a fund type, a fund level, each optional.

    The parts the header leaves out come from the row's long columns (资金类别, 资金级别, 年度) or the form's
    year (title, file name): ``2016年`` under 资金类别/资金级别 columns, ``中央补助`` beside a 资金类别 column.
    """

    year: int | None = None
    fund_type: str | None = None
    fund_level: str | None = None

    @property
    def name(self) -> str:
        """'civil_affairs/central', '2016/civil_affairs', 'central': the parts the header gives, in key order."""
        return "/".join(str(p) for p in (self.year, self.fund_type, self.fund_level) if p is not None)

    def covers(self, other: WideKey) -> bool:
        """True when every part this key gives is the other's too (a 合计 column's key covers its members')."""
        return all(
            mine is None or mine == theirs
            for mine, theirs in zip(
                (self.year, self.fund_type, self.fund_level),
                (other.year, other.fund_type, other.fund_level),
                strict=True,
            )
        )


def wide_names(year: object, fund_type: object, fund_level: object) -> list[str]:
    """The names a record's wide column may have, the fullest first (a rejection's header is looked up by them)."""
    parts = (year, fund_type, fund_level)
    out = []
    for mask in ((1, 1, 1), (1, 1, 0), (1, 0, 1), (0, 1, 1), (1, 0, 0), (0, 1, 0), (0, 0, 1)):
        name = "/".join(str(p) for p, keep in zip(parts, mask, strict=True) if keep and p is not None)
        if name and name not in out and all(p is not None for p, keep in zip(parts, mask, strict=True) if keep):
            out.append(name)
    return out


@dataclass
class WideTotal:
    """A 合计 column of a wide form: never a fact, but each row's must equal the sum of its ``members``' cells."""

    key: WideKey
    members: tuple[int, ...]

    @property
    def name(self) -> str:
        return f"{self.key.name}/total" if self.key.name else "total"


@dataclass
class HeaderMap:
    """Where each canonical column sits in a table, how each header was matched, and what was not understood."""

    columns: dict[str, int] = field(default_factory=dict)
    units: dict[int, str] = field(default_factory=dict)
    wide: dict[int, WideKey] = field(default_factory=dict)  # column → the key its cells' facts share
    totals: dict[int, WideTotal] = field(default_factory=dict)  # 合计 column → the wide columns it sums
    unknown: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)  # '表头（county 或 county_code）'
    mapping: list[dict[str, str]] = field(default_factory=list)  # submitted_header, column_name, matched_by
    # two or more headers read as one field (or two wide columns with one key): field → the headers; refused whole
    conflicts: dict[str, list[str]] = field(default_factory=dict)
    not_this_year: list[tuple[str, str]] = field(default_factory=list)  # (header, what it is): ignored, said so
    labels: dict[int, str] = field(default_factory=dict, repr=False)  # column → its header as submitted
    _candidates: dict[str, list[tuple[int, str, str]]] = field(default_factory=dict, repr=False)

    def has(self, name: str) -> bool:
        """True when the canonical column (or one of 'a|b' alternatives) is present."""
        names = name.split("|")
        if self.wide:
            if "amount" in names:
                return True
            if "fund_type" in names and all(k.fund_type for k in self.wide.values()):
                return True
            if "year" in names and all(k.year for k in self.wide.values()):
                return True
        return any(n in self.columns for n in names)

    @property
    def years_in_columns(self) -> bool:
        """True when every wide column names its year (2016年 | 2017年) and no long column gives one."""
        return bool(self.wide) and all(k.year for k in self.wide.values()) and "year" not in self.columns

    def _place(self, index: int, label: str, name: str, how: str) -> None:
        if name == "ignore":
            return
        self._candidates.setdefault(name, []).append((index, label, how))
        if name not in self.columns:
            self.columns[name] = index
            self.mapping.append({"submitted_header": label, "column_name": name, "matched_by": how})

    def _settle(self, defaults: dict[str, str]) -> None:
        """One column per field: an operator's heading (headers.yaml) over the others; two otherwise are refused."""
        for name, found in self._candidates.items():
            if len(found) < 2:
                continue
            operator = [c for c in found if c[2] == "operator"]
            if len(operator) != 1:
                self.conflicts[name] = [label for _, label, _ in found]
                continue
            index, label, how = operator[0]
            if self.columns[name] != index:
                self.columns[name] = index
                entry = next(m for m in self.mapping if m["column_name"] == name)
                entry.update(submitted_header=label, matched_by=how)
            self.unknown += [other for i, other, _ in found if i != index]
        dated = [i for i, k in self.wide.items() if k.year is not None]
        if dated and "year" in self.columns:  # a year column and years in the headers: which year is a cell's?
            self.conflicts["year"] = [self.labels[self.columns["year"]], *(self.labels[i] for i in dated)]
        if "amount" not in self.columns:  # no long amount: a type or level column beside headers naming theirs
            typed = [i for i, k in self.wide.items() if k.fund_type is not None]
            leveled = [i for i, k in self.wide.items() if k.fund_level is not None and k.fund_type not in defaults]
            for name, given in (("fund_type", typed), ("fund_level", leveled)):
                if given and name in self.columns:
                    self.conflicts[name] = [self.labels[self.columns[name]], *(self.labels[i] for i in given)]
        seen: dict[WideKey, list[int]] = {}
        for index, key in self.wide.items():
            seen.setdefault(key, []).append(index)
        for key, indexes in seen.items():
            if len(indexes) > 1:
                self.conflicts[f"amount_yuan[{key.name}]"] = [self.labels[i] for i in indexes]


def map_header(header: list[str], vocab: Vocabulary) -> HeaderMap:
    """Map the submitter's header labels to a dataset's canonical columns and wide fund columns."""
    out = HeaderMap()
    level_labels = {clean_label(s)[0] for s in SUBTOTAL_LABELS}
    subtotals: list[tuple[int, str, WideKey]] = []
    for i, label in enumerate(header):
        if not label or not str(label).strip():
            continue
        out.labels[i] = str(label)
        parts = [clean_label(p) for p in str(label).split("/") if p.strip()]
        base, unit = parts[-1]
        units = [u for _, u in parts if u]
        if units:
            out.units[i] = units[-1]
        candidates = (base, "".join(p for p, _ in parts), parts[0][0])
        hit = next((h for h in map(vocab.exact, candidates) if h), None)
        if hit and hit[1] == "operator":  # the operator's word (headers.yaml) before any reading of fupin's own
            out._place(i, str(label), *hit)
            continue
        wide = _wide_column(parts, vocab, level_labels)
        if isinstance(wide, tuple):  # ('subtotal', key): a 合计 column of a wide form, checked against its parts
            subtotals.append((i, str(label), wide[1]))
            continue
        if isinstance(wide, str):  # a wide column qualified as not this year's: 上年结转/民政事业费/中央
            out.not_this_year.append((str(label), wide))
            continue
        if wide:
            out.wide[i] = wide
            out.mapping.append(
                {"submitted_header": str(label), "column_name": f"amount_yuan[{wide.name}]", "matched_by": "wide"}
            )
            continue
        if hit:
            if _not_this_year(hit[0], label, vocab):
                out.not_this_year.append((str(label), _not_this_year(hit[0], label, vocab)))
                continue
            out._place(i, str(label), *hit)
            continue
        scores = vocab.scores(base) or vocab.scores("".join(p for p, _ in parts))
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        if not ranked:
            out.unknown.append(str(label))
        elif len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
            out.ambiguous.append(f"{label}（{ranked[0][0]} 或 {ranked[1][0]}）")
        elif _not_this_year(ranked[0][0], label, vocab):
            out.not_this_year.append((str(label), _not_this_year(ranked[0][0], label, vocab)))
        else:
            out._place(i, str(label), ranked[0][0], "words")
    out._settle(vocab.default_level)
    for i, label, key in subtotals:
        members = tuple(j for j, k in out.wide.items() if key.covers(k))
        if not members:
            out.unknown.append(label)
            continue
        total = WideTotal(key, members)
        out.totals[i] = total
        out.mapping.append(
            {"submitted_header": label, "column_name": f"amount_yuan[{total.name}]", "matched_by": "wide_total"}
        )
    return out


def _not_this_year(name: str, label: str, vocab: Vocabulary) -> str | None:
    """What an amount heading is when it is plainly not this year's allocation (上年结转数, 计划数 …), else None."""
    if name not in vocab.money:
        return None
    return qualified(label)


def qualified(label: str) -> str | None:
    """上年结转数, 累计数, 计划数 … when the heading says its figures are not this year's allocation, else None."""
    text = re.sub(r"\s+", "", to_halfwidth(str(label)))
    return next((what for pattern, what in NOT_THIS_YEAR if re.search(pattern, text)), None)


_YEAR_PART = re.compile(r"^(?P<y>(?:19|20)\d{2})年?度?(?P<rest>.*)$")


def level_of(label: str, levels: dict[str, tuple[str, ...]]) -> str | None:
    """The fund level a label names: a contract heading (中央, 省级), or it with affixes (中央财政补助资金, 省本级)."""
    found = _find(levels, label)
    if found:
        return found
    root = _level_root(label)
    return _level_roots(tuple((k, tuple(v)) for k, v in levels.items())).get(root) if root else None


def _level_root(label: str) -> str:
    text = bare_label(clean_label(label)[0])
    changed = True
    while changed and text:
        changed = False
        for affix in LEVEL_AFFIXES:
            if text.endswith(affix) and len(text) > len(affix):
                text, changed = text[: -len(affix)], True
                break
    return text


@cache
def _level_roots(table: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[str, str]:
    roots: dict[str, str] = {}
    for code, headers in table:
        for heading in headers:
            roots.setdefault(_level_root(heading), code)
    return roots


def _wide_column(parts: list[tuple[str, str | None]], vocab: Vocabulary, subtotal: set[str]):
    """The WideKey of a wide fund column, ('subtotal', key) for its 合计 column, a str when qualified, or None.

    Each part of a header (rows of a multi-row header: 下达资金（万元）/民政事业费/中央) may give a year (2016年,
    2016年金额), a fund type (民政事业费) or a level (中央, 中央补助, 省本级); the last part must give one of
    them (or be 合计), the others may be a heading over them (下达资金). A heading qualified as not this year's
    (上年结转/民政事业费/中央) gives what it is instead.
    """
    if not vocab.fund_types:
        return None
    year = fund_type = level = None
    level_part = ""
    given = 0
    for k, (part, _) in enumerate(parts):
        last = k == len(parts) - 1
        if last and _is_subtotal(part, subtotal, vocab):
            return "subtotal", WideKey(year, fund_type, level)
        kind = _wide_part(part, vocab)
        if kind is None:
            if last:
                return None
            continue  # a heading over the parts (下达资金); a qualified one is said below
        what, value = kind
        if what == "year" and year is None:
            year = value
        elif what == "fund_type" and fund_type is None:
            fund_type = value
        elif what == "fund_level" and level is None:
            level, level_part = value, part
        else:
            return None  # two years, two types or two levels in one header: not a column fupin can read
        given += 1
    if not given:
        return None
    if level is None and fund_type in vocab.default_level:
        level = vocab.default_level[fund_type]
    if fund_type is None and level is None and year is None:
        return None
    if (
        year is None
        and fund_type is None
        and (len(level_part) < 2 or vocab.exact(level_part) or vocab.exact(bare_label(level_part)))
    ):
        return None  # a level alone is a column only as people head one (中央, 省级补助), never 县 or 县（区）
    key = WideKey(year, fund_type, level)
    what = next((qualified(p) for p, _ in parts if qualified(p)), None)
    return what or key


def _is_subtotal(part: str, subtotal: set[str], vocab: Vocabulary) -> bool:
    """合计, 小计, and 合计 with an amount word around it (资金合计, 合计金额)."""
    if part in subtotal:
        return True
    for label in subtotal:
        rest = part.removeprefix(label) if part.startswith(label) else part.removesuffix(label)
        if rest != part and (vocab.exact(rest) or ("",))[0] == "amount":
            return True
    return False


def _wide_part(part: str, vocab: Vocabulary) -> tuple[str, object] | None:
    """('year', 2016), ('fund_type', 'civil_affairs') or ('fund_level', 'central') of one header part, or None."""
    fund_type = _find(vocab.fund_types, part)
    if fund_type:
        return "fund_type", fund_type
    year = _YEAR_PART.match(part)
    if year:
        rest = bare_label(year["rest"])
        if not rest or vocab.exact(rest) == ("amount", "synonym") or vocab.exact(rest) == ("amount", "exact"):
            return "year", int(year["y"])
        if vocab.scores(rest).get("amount") and len(vocab.scores(rest)) == 1:
            return "year", int(year["y"])
        return None
    level = level_of(part, vocab.fund_levels)
    if level:
        return "fund_level", level
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
    return None, hmap, say(f"{UNRECOGNISED_CODE}.short"), []


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
            money=frozenset(c.field for c in contract.columns if c.kind == "money"),
        )
    return out


def _values(column: Column) -> dict[str, tuple[str, ...]]:
    return {v.code: v.headers for v in column.values}


MISSING_COLUMN_CODE = "missing_required_column"
AMBIGUOUS_COLUMNS_CODE = "ambiguous_columns"
NOT_THIS_YEAR_CODE = "column_not_this_year"


def ambiguous_columns_message(dataset: str, name: str, labels: list[str], vocab: Vocabulary) -> str:
    """One line for a clerk: which headers could all be one field, and the two ways to say which one it is."""
    if name.startswith("amount_yuan[") and name.endswith("]"):
        what = field_label(dataset, name[len("amount_yuan[") : -1])
    else:
        what = column_label(name, vocab)
    heads = "、".join(f"“{h}”" for h in labels)
    example = "（如写明“上年结转”“累计”）" if name.split("[")[0] in vocab.money else ""
    if name.startswith("amount_yuan["):
        hint = f"不读的列（如 {dataset}: {{ignore: [{labels[0]}]}}）"
    else:
        hint = f"该读的列（如 {dataset}: {{{name}: [{labels[-1]}]}}）"
    return say(AMBIGUOUS_COLUMNS_CODE, count=len(labels), what=what, headers=heads, example=example, hint=hint)


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
    return say(MISSING_COLUMN_CODE, dataset=zh, columns=names, unread="、".join(unread) or "无", hint=hint)


def field_label(dataset: str, name: str) -> str:
    """A canonical field or column as a clerk would head it (contract's label or Chinese name)."""
    contract = contracts()[dataset]
    for column in [*contract.inputs, *contract.columns]:
        if name in (column.name, column.field):
            return column.label or column.zh or name
    coded = {v.code: v.zh for c in contract.columns for v in c.values} | {"total": "合计"}
    parts = name.split("/")
    if all(p in coded or p.isdigit() for p in parts):  # a wide fund column: 民政事业费/中央, 2016/central, …/total
        return "/".join(coded.get(p, f"{p}年") for p in parts)
    return name


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
    names = [v.zh for v in column.values]
    expected = f"{'、'.join(names[:-1])} 或 {names[-1]}" if len(names) > 1 else names[0]
    if text is None or not text.strip():
        default = next((v.default_level for v in contract.column("fund_type").values if v.code == fund_type), None)
        if default:
            return default
        raise CellError(f"为空：这类资金须写明级次，请填写 {expected}", "fund_level_empty")
    found = level_of(clean_label(text)[0], _values(column))
    if not found:
        raise CellError(f"填写的「{text}」不是可接受的资金级次：请填写 {expected}", "unknown_fund_level")
    return found
