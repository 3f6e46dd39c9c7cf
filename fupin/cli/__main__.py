"""``python -m fupin.cli``: the same commands as the console script ``fupin``."""

from fupin.cli import main

main()
