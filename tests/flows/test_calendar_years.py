"""Calendar years (issue 24): a year outside 2000–2100 or not a whole number is one Chinese line naming the field
and the value, in `fupin status` and `fupin doctor` — never a traceback, never blamed on the due date."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from fupin.cli import app


def _calendar(home, years: str) -> None:
    (home / "config").mkdir(exist_ok=True)
    (home / "config" / "calendar.yaml").write_text(
        f"expected:\n  - provinces: [江西]\n    datasets: [fund_allocation]\n    years: {years}\n    due: 03-01\n",
        encoding="utf-8",
    )


@pytest.mark.parametrize(
    ("years", "shown"),
    [
        ('["2016.5"]', "2016.5"),
        ("[2016.5]", "2016.5"),
        ("[9999]", "9999"),
        ("[2147483648]", "2147483648"),
        ("[0]", "0"),
        ("[-5]", "-5"),
        ("[1999]", "1999"),
        ("[true]", "True"),
        ("2017", None),
    ],
)
def test_a_year_that_is_no_reportable_year_is_one_line(demo_home_copy, years, shown):
    _calendar(demo_home_copy, years)
    status = CliRunner().invoke(app, ["status", "--home", str(demo_home_copy)])
    assert status.exit_code == 1
    (line,) = status.output.strip().splitlines()
    assert "Traceback" not in status.output and "due" not in line
    if shown is None:  # not a list
        assert line.endswith("的 years（年份）应是一个列表，如 years: [...]：请改正 [calendar_invalid]")
    else:
        assert f"第 1 项的 years（年份）中的“{shown}”不是 2000–2100 之间的整数年份" in line
        assert line.endswith("[calendar_year_invalid]")
    doctor = CliRunner().invoke(app, ["doctor", "--home", str(demo_home_copy)])
    found = [x for x in doctor.output.splitlines() if "years（年份）" in x]
    assert doctor.exit_code == 1 and len(found) == 1
    assert found[0].startswith("错误 [calendar_year_invalid]" if shown else "错误 [calendar_invalid]")


def test_whole_years_in_range_as_numbers_or_digits_are_read(demo_home_copy):
    _calendar(demo_home_copy, '[2000, "2017", 2100]')
    status = CliRunner().invoke(app, ["status", "--all", "--json", "--home", str(demo_home_copy)])
    assert status.exit_code == 0, status.output
    assert '"period": 2017' in status.output and '"period": 2100' in status.output
    assert "calendar" not in CliRunner().invoke(app, ["doctor", "--home", str(demo_home_copy)]).output
