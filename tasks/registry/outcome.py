"""A registry submission's outcome: streamed from the raw archive into the lake, counted for the ledger."""

from __future__ import annotations

import tempfile
import threading
from contextlib import ExitStack
from pathlib import Path

from fupin.core.config import Paths
from fupin.core.messages import code_of, message, render, said_of, say
from fupin.core.raw import received_suffix
from fupin.core.safe_text import mask_ids
from fupin.tasks.identity.hashing import pii_key
from fupin.tasks.parse.xlsx_files import WORKBOOK_EXTENSIONS
from fupin.tasks.partitions import partition_path
from fupin.tasks.records import Outcome, Rejection, all_refused, rows_phrase
from fupin.tasks.registry.ingest import ingest_registry
from fupin.tasks.registry.reading import registry_year, xlsx_to_csv
from fupin.tasks.registry.repeats import dup_rejections_path, finish_registry
from fupin.tasks.registry.schema import RegistryError, RowsAllRefused

# one registry at a time per process: each already keeps every core busy (its blocks are checked and hashed on a
# thread per core), so two at once would only double the memory of the run, whose provinces run concurrently
_ONE_AT_A_TIME = threading.Lock()


def registry_outcome(outcome: Outcome, rec: dict, paths: Paths, staging: Path) -> Outcome:
    """Stream a household registry straight from the raw archive into the lake (it never fits a form's path)."""
    with _ONE_AT_A_TIME:
        return _registry_outcome(outcome, rec, paths, staging)


def _registry_outcome(outcome: Outcome, rec: dict, paths: Paths, staging: Path) -> Outcome:
    outcome.dataset = "household_registry"
    try:
        key = pii_key()
        year = registry_year(rec["file_name"])
        if year is None:
            raise RegistryError(message("registry_year_unknown"))
        source = Path(rec["raw_path"])
        with ExitStack() as stack:
            converted = None
            if received_suffix(source) in WORKBOOK_EXTENSIONS:
                # the CSV holds ID numbers in clear: a file without a name (O_TMPFILE, or unlinked at once), so
                # that only the raw archive keeps them, even when the run is killed in the middle
                staging.mkdir(parents=True, exist_ok=True)
                converted, notes = xlsx_to_csv(source, stack.enter_context(tempfile.TemporaryFile(dir=staging)))
                outcome.warnings.extend(mask_ids(n) for n in notes)  # a sheet may be named anything
            result = ingest_registry(
                converted or source, rec["province_code"], year, key, staging, rec["submission_id"]
            )
        target = partition_path(paths, "household_registry", rec["province_code"], year, rec["submission_id"])
        finish_registry(result, target)
    except RegistryError as exc:  # an ID-number-shaped token in a message is masked, wherever it came from
        said = (
            all_refused(rec["file_name"], exc.first, exc.rows)
            if isinstance(exc, RowsAllRefused)
            else render(said_of(rec["file_name"], exc))
        )
        outcome.status, outcome.message = "rejected", mask_ids(said)
        outcome.message_code = code_of(exc)
        outcome.rejections.append(Rejection(None, None, None, outcome.message))
        return outcome
    outcome.rows_total, outcome.rows_loaded, outcome.rows_rejected = (
        result.rows_total,
        result.rows_loaded,
        result.rows_rejected,
    )
    outcome.rejection_files = [
        p for p in (result.rejections_path, str(dup_rejections_path(result))) if Path(p).exists()
    ]
    outcome.years = result.years
    if result.rows_loaded:
        outcome.lake_files = [str(target)]
        outcome.status = "partially_loaded" if result.rows_rejected else "loaded"
        rejected = [say("rows_rejected", rows=rows_phrase(result.rows_rejected))] if result.rows_rejected else []
        outcome.message = "；".join(rejected + outcome.warnings) or None
        outcome.message_code = "rows_rejected" if rejected else None
    else:
        outcome.status, outcome.message = (
            "rejected",
            say("no_row_loaded.registry", name=rec["file_name"]),
        )
        outcome.message_code = "no_row_loaded"
    return outcome
