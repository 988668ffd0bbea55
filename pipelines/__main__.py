"""``python -m pipelines`` runs the doorstep CLI."""

from pipelines.cli import main

main()
