"""``python -m helix.cli``."""

from helix.cli import main

main()
