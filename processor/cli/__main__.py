"""``python -m processor.cli``: the same CLI as the ``chatstate`` script."""

from processor.cli import main

main()
