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
    """Write the demo inbox into out/jiangxi, out/hunan and out/mca (the Ministry's own lists); return the files."""
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
    registry.county_registry(
        suichuan,
        figures.SUICHUAN,
        year=figures.REGISTRY_YEAR,
        encoding="gb18030",
        **figures.REGISTRIES[figures.SUICHUAN],
    )
    lianhua = jiangxi / "莲花县建档立卡贫困户2017.xlsx"
    registry.county_registry(
        lianhua, figures.LIANHUA, year=figures.REGISTRY_YEAR, **figures.REGISTRIES[figures.LIANHUA]
    )
    written += [suichuan, lianhua]
    # F3: the “十百千” recipient lists, households of those registries named by the head's name and ID number
    # (the 2018 list also gives the registry's household number)
    grants = figures.grants()
    written += [
        forms.write_grant_list(
            jiangxi / f"{year}年“十百千”帮扶行动资金发放花名册.xlsx", year, grants, with_household_number=year == 2018
        )
        for year in figures.GRANT_YEARS
    ]
    # F12 and F13: the Ministry's own lists (部本级), which span provinces
    ministry = out / "mca"
    ministry.mkdir(parents=True, exist_ok=True)
    written += [
        forms.write_social_service_projects(
            ministry / "2017-2018年中央财政支持社会组织参与社会服务项目立项名单.xlsx", figures.social_service_projects()
        ),
        forms.write_organisation_trainings(
            ministry / "2018年深度贫困地区社会组织培训.csv", figures.ORGANISATION_TRAININGS
        ),
    ]
    return written
