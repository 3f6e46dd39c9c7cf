"""Where the lake keeps a submission's rows: one Parquet file per dataset, province, year and submission.

Below both writers of the lake, the forms' (``lake``) and the registries' (``registry.outcome``).
"""

from __future__ import annotations

from pathlib import Path

from fupin.core.config import Paths


def partition_path(paths: Paths, dataset: str, province: str, year: int, submission_id: str) -> Path:
    """data/lake/<dataset>/province=<code>/year=<yyyy>/<submission_id>.parquet"""
    return paths.lake / dataset / f"province={province}" / f"year={year}" / f"{submission_id}.parquet"
