"""fupin's tests: unit/, flows/ and system/ (tests/README.md says which test goes where).

The environment every test runs in is set here, before anything under tests/ imports Prefect: Prefect reads
its settings once, when it is first imported.
"""

import os

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# a fixed key for the tests' synthetic registries (no real person is behind them); never a production key
os.environ.setdefault("FUPIN_PII_KEY", "tests-only-pseudonymisation-key-0123456789")
