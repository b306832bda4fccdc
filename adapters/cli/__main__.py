"""``python -m adapters.cli`` runs the same command line as the ``tailorbot`` script."""

from adapters.cli.main import main

main()
