"""The demo inbox: Jiangxi and Hunan submissions whose indicators reproduce the seed's figures."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from fupin.demo import figures, forms, registry

_Row = TypeVar("_Row", figures.FundAllocation, figures.PovertyStatus, figures.Training)

__all__ = ["write_demo"]


def _in_province(rows: Sequence[_Row], province: str) -> list[_Row]:
    """The rows of one province's counties."""
    return [r for r in rows if r.county_code.startswith(province)]


def write_demo(out: Path) -> list[Path]:
    """Write the demo inbox into out/jiangxi and out/hunan; return the files written."""
    jiangxi, hunan = out / "jiangxi", out / "hunan"
    jiangxi.mkdir(parents=True, exist_ok=True)
    hunan.mkdir(parents=True, exist_ok=True)
    funds = figures.fund_allocations()
    poverty = figures.poverty_status()
    training = figures.trainings()
    training_file = f"{figures.TRAINING_YEAR}年罗霄山片区养老护理员培训.csv"

    written = [
        forms.write_jiangxi_funds(
            jiangxi / f"{year}年罗霄山片区县民政资金下达情况表.xlsx",
            year,
            _in_province(funds, "36"),
        )
        for year in figures.YEARS
    ]
    written += [
        forms.write_jiangxi_poverty(
            jiangxi / "江西省罗霄山片区贫困人口统计表2015-2017.xlsx", _in_province(poverty, "36")
        ),
        forms.write_social_org_projects(jiangxi / "2018年社会组织定点扶贫项目.json", figures.social_org_projects()),
        forms.write_training(jiangxi / training_file, _in_province(training, "36"), "utf-8"),
        forms.write_hunan_funds(hunan / "湖南省罗霄山片区民政资金2015-2017.csv", _in_province(funds, "43")),
        forms.write_hunan_poverty(hunan / "湖南省罗霄山片区贫困人口2015-2017.csv", _in_province(poverty, "43")),
        forms.write_training(hunan / training_file, _in_province(training, "43"), "gb18030", line_end="\r\n"),
    ]
    # the designated counties' registries (建档立卡): members add up to F4 and F5 at end 2017
    suichuan = jiangxi / "遂川县建档立卡贫困户2017.csv"
    registry.county_registry(suichuan, "360827", "遂川县", 68386, 17002, 2017, old_code="362427", encoding="gb18030")
    lianhua = jiangxi / "莲花县建档立卡贫困户2017.xlsx"
    registry.county_registry(lianhua, "360321", "莲花县", 33065, 6580, 2017, seed=5)
    return [*written, suichuan, lianhua]
