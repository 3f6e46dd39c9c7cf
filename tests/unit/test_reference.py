"""Division codes and names resolve to current counties, from python-stdnum's list."""

from __future__ import annotations

import pytest

from fupin.core.reference import area_counties, counties, resolve_county, resolve_province


@pytest.mark.parametrize(
    ("value", "province", "expected"),
    [
        pytest.param("赣县", "36", "360704", id="old-name-ganxian"),
        pytest.param("360721", "36", "360704", id="old-code-ganxian"),
        pytest.param("南康市", "36", "360703", id="old-name-nankang"),
        pytest.param("360782", "36", "360703", id="old-code-nankang"),
        pytest.param("362427", "36", "360827", id="pre-2000-code-suichuan"),
        pytest.param("遂川", "36", "360827", id="name-without-suffix"),
        pytest.param("遂川县", "36", "360827", id="current-name"),
        pytest.param("360827.0", "36", "360827", id="code-read-as-float"),
        pytest.param(" 井冈山市 ", "36", "360881", id="stray-spaces"),
        pytest.param("茶陵", "43", "430224", id="hunan-short-name"),
    ],
)
def test_resolves_to_current_code(value, province, expected):
    assert resolve_county(value, province).county_code == expected


def test_county_of_another_province_is_refused_with_its_name():
    hit = resolve_county("茶陵县", "36")
    assert hit.county_code is None
    assert hit.code == "county_other_province"
    assert "湖南省的茶陵县（430224）" in hit.reason and "江西省" in hit.reason


def test_unknown_county_is_refused_with_the_value():
    hit = resolve_county("不存在县", "36")
    assert hit.county_code is None and "不存在县" in hit.reason


def test_the_23_luoxiao_counties_are_current_and_named_as_in_the_plan():
    luoxiao = [a for a in area_counties() if a.area_code == "luoxiao"]
    assert len(luoxiao) == 23
    names = {counties()[a.county_code].county_name for a in luoxiao}
    assert {"赣县区", "南康区", "遂川县", "莲花县", "井冈山市", "茶陵县", "安仁县"} <= names
    assert "章贡区" not in names
    assert {counties()[a.county_code].region for a in luoxiao} == {"central"}


@pytest.mark.parametrize("value", ["36", "江西", "江西省", "jiangxi", "360000"])
def test_province_spellings(value):
    assert resolve_province(value) == "36"


def test_unknown_province_message():
    with pytest.raises(ValueError, match="unknown province 'atlantis'"):
        resolve_province("atlantis")
