"""Migration step 2: the changes a warehouse recorded before are re-attributed from the facts' history — every year
of a multi-year file, both provinces of one night — and running it again changes nothing.

The older warehouse is tests/fixtures/migrations/warehouse-63a9bea.duckdb.gz (one run over
tests/fixtures/migrations/inbox/: Hunan's three-year fund and poverty forms beside Jiangxi's one-year forms).
"""

from __future__ import annotations

import gzip
import shutil

import duckdb

from fupin.warehouse import migrations
from fupin.warehouse.migrations import migrate
from tests.helpers import FIXTURES

OLD = FIXTURES / "migrations" / "warehouse-63a9bea.duckdb.gz"
HUNAN_FUNDS, HUNAN_POVERTY, JIANGXI_POVERTY_2017 = "43-ae15979b2bf3", "43-bf376adf3659", "36-69696e1c880d"


def _named(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str, str], str | None]:
    found = con.execute("select indicator, scope_code, period, submissions from marts.indicator_changes").fetchall()
    return {(i, s, p): ids for i, s, p, ids in found}


def test_recorded_changes_name_every_year_of_a_multi_year_file_and_both_provinces(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with gzip.open(OLD) as packed, open(warehouse, "wb") as out:
        shutil.copyfileobj(packed, out)
    with duckdb.connect(str(warehouse)) as con:
        before = _named(con)
        # as recorded: Hunan's three-year file on its first year only, and one province on the area's 2017 poverty
        assert before[("civil_affairs_funds", "luoxiao", "2017")] is None
        assert before[("poverty_incidence", "luoxiao", "2017")] == JIANGXI_POVERTY_2017
        con.execute("begin")
        assert migrate(con) == list(range(1, migrations.CURRENT + 1))  # step one, then every later step
        con.execute("commit")
        after = _named(con)
        assert after.keys() == before.keys()
        for period in ("2015", "2016", "2017"):
            assert HUNAN_FUNDS in after[("civil_affairs_funds", "luoxiao", period)].split(",")
            assert after[("poverty_incidence", "430224", period)] == HUNAN_POVERTY
        assert after[("poverty_incidence", "luoxiao", "2017")] == f"{JIANGXI_POVERTY_2017},{HUNAN_POVERTY}"
        assert all(after.values())  # every figure of that night came from a submission of it
        migrations._reattribute_changes(con)  # again: the same history gives the same names
        assert _named(con) == after
