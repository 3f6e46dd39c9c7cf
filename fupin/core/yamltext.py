"""YAML read by libyaml's C parser where PyYAML has it (about 15 times faster), else by the pure-Python one.

The same safe loader either way (``yaml.safe_load``'s constructor): the contracts, relation specs, the calendar
and sources.yaml read the same. The read-only commands read some thirty such files each time they start.
"""

from __future__ import annotations

from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """``yaml.safe_load(text)``, through the C parser when available."""
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 (a safe loader: SafeLoader or its C twin)
