"""Household registries (建档立卡): streamed, validated with numpy, pseudonymised, never held whole.

A registry can have millions of rows, so it does not go through the form parser: the CSV is
read in blocks by pyarrow (decoding GBK/GB18030 on the way), every check is a vectorised
expression over a block, ID numbers become HMAC-SHA256 keys (one native call per block, or its
exact pure fallback) and names are dropped before anything is written. Blocks are checked on
worker threads and written in file order. Rejections are written as Parquet beside the good
rows, so millions of them cost no more than millions of good rows.

The modules follow the data: ``reading`` (header, encoding, blocks; XLSX to CSV), ``checking``
(ID numbers, years, members, status, counties), (the key and the pseudonyms are in fupin.tasks.identity),
``ingest`` (the blocks through the checks into Parquet), ``repeats`` (repeated household ids),
``outcome`` (a submission from the raw archive into the lake, for the ledger); ``schema`` holds
the lake's layout of a registry and its errors.
"""

from fupin.tasks.registry.checking import gated_values
from fupin.tasks.registry.ingest import ingest_registry
from fupin.tasks.registry.outcome import registry_outcome
from fupin.tasks.registry.reading import is_registry_file, registry_columns, registry_year, sniff_text_file, xlsx_to_csv
from fupin.tasks.registry.repeats import dup_rejections_path, finish_registry
from fupin.tasks.registry.schema import GOOD_SCHEMA, REJECTION_SCHEMA, RegistryError, RegistryResult

__all__ = [
    "GOOD_SCHEMA",
    "REJECTION_SCHEMA",
    "RegistryError",
    "RegistryResult",
    "dup_rejections_path",
    "finish_registry",
    "ingest_registry",
    "is_registry_file",
    "gated_values",
    "registry_columns",
    "registry_outcome",
    "registry_year",
    "sniff_text_file",
    "xlsx_to_csv",
]
