"""Forms headed the way other provinces head them load the same facts as the demo's forms.

The fixtures (tests/fixtures/headers, written by make_header_fixtures.py) carry the demo's
figures under headers no synonym in the code knows: each must be read by its meaning-bearing
words (资金级次 → fund level, 乡村人口 → rural population …) and give exactly the demo's facts.
"""

from __future__ import annotations

import pytest

from fupin.demo import figures
from fupin.tasks.normalise.helpers import clean_label
from tests.helpers import FIXTURES, process

HEADERS = FIXTURES / "headers"
FUND_TYPE = {
    "民政事业费": "civil_affairs",
    "彩票公益金": "lottery_welfare",
    "中央预算内投资": "central_budget_investment",
}
FUND_LEVEL = {"中央": "central", "省级": "provincial"}


def _province(rows, code: str) -> list:
    return [r for r in rows if r.county_code.startswith(code)]


def _funds(code: str) -> set[tuple]:
    return {
        (r.county_code, r.year, FUND_TYPE[r.fund_type], FUND_LEVEL[r.fund_level], r.amount_yuan)
        for r in _province(figures.fund_allocations(), code)
    }


def _poverty(code: str) -> set[tuple]:
    return {
        (r.county_code, r.year, r.rural_population, r.poor, r.lifted) for r in _province(figures.poverty_status(), code)
    }


PROJECTS = {
    (p.organisation, p.category, p.project, p.county_code, 2018, p.amount_wan * 10_000, p.beneficiaries)
    for p in figures.social_org_projects()
}
TRAINING = {
    (t.programme, t.county_code, t.year, t.sessions, t.trainees, t.trainees_poor, t.employed)
    for t in _province(figures.trainings(), "36")
}
HUNAN = {"funds_budget_levels.csv": "43", "poverty_other_words.csv": "43"}
KEYS = {
    "fund_allocation": ("county_code", "year", "fund_type", "fund_level", "amount_yuan"),
    "poverty_status": ("county_code", "year", "rural_population", "poor_population", "lifted_population"),
    "social_org_project": (
        "organisation",
        "org_scope",
        "project",
        "county_code",
        "year",
        "amount_yuan",
        "beneficiaries",
    ),
    "training": ("programme", "county_code", "year", "sessions", "trainees", "trainees_poor", "employed"),
}


@pytest.mark.parametrize(
    ("name", "province", "dataset", "expected"),
    [
        pytest.param("funds_budget_levels.csv", "43", "fund_allocation", _funds("43"), id="预算级次-拨付金额-gbk"),
        pytest.param("funds_numbered.xlsx", "36", "fund_allocation", _funds("36"), id="numbered-资金级次-万元"),
        pytest.param("poverty_yearbook.xlsx", "36", "poverty_status", _poverty("36"), id="yearbook-two-rows"),
        pytest.param("poverty_other_words.csv", "43", "poverty_status", _poverty("43"), id="农业人口-减贫-剩余"),
        pytest.param("projects_registry_office.json", "36", "social_org_project", PROJECTS, id="到位资金-json"),
        pytest.param("training_hr_office.csv", "36", "training", TRAINING, id="参训学员-转移就业"),
    ],
)
def test_form_with_other_headings_loads_the_demo_facts(tmp_path, name, province, dataset, expected):
    outcome, datasets = process(HEADERS / name, tmp_path, province=province)
    assert (outcome.status, outcome.rows_rejected, outcome.message) == ("loaded", 0, None)
    facts = {tuple(r[k] for k in KEYS[dataset]) for r in datasets[dataset]}
    assert facts == expected
    assert len(datasets[dataset]) == len(expected)


def test_the_corpus_holds_at_least_25_headings_read_by_their_words(tmp_path):
    by_words = set()
    for path in sorted(HEADERS.iterdir()):
        if path.suffix in (".csv", ".xlsx", ".json"):
            outcome, _ = process(path, tmp_path / path.stem, province=HUNAN.get(path.name, "36"))
            assert outcome.status == "loaded"
            by_words |= {
                clean_label(m["submitted_header"].split("/")[-1])[0]
                for m in outcome.header_mapping
                if m["matched_by"] == "words"
            }
    assert len(by_words) >= 25, sorted(by_words)
    assert {"资金级次", "预算级次", "乡村人口", "未脱贫", "年份year"} <= by_words
