"""What the normaliser knows beyond the dataset contracts (warehouse/contracts/*.yaml).

Columns, header synonyms and words, fund types and levels, required columns and grain keys are
declared in the contracts and read at run time; only the form's own conventions stay here.
"""

from __future__ import annotations

SUBTOTAL_LABELS = ("合计", "小计", "总计")
