"""One module per `python -m emogan` command; each exposes register(subparsers)."""
