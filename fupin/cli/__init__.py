"""The ``fupin`` command line: one module per concern, every command registered here on the one typer app.

``app`` (the console script ``fupin``, and ``python -m fupin.cli``) lists the commands in the order below.
"""

from fupin.cli import calendar, check, demo, docs, doctor, explain, export, indicators, query, run, submissions
from fupin.cli.app import app

__all__ = ["app", "main"]

# the commands in the order `fupin --help` lists them
for _command in (
    demo.demo,
    run.run,
    indicators.indicators,
    explain.explain,
    calendar.status,
    run.approve,
    run.discard,
    check.check,
    submissions.submissions,
    query.query,
    docs.report,
    docs.docs,
    export.export,
    doctor.doctor,
):
    app.command()(_command)


def main() -> None:
    """Entry point for ``python -m fupin.cli``."""
    app()
