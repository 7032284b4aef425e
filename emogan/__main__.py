"""`python -m emogan ...`: the command-line entry point."""

import sys

from emogan.cli import main

sys.exit(main())
