"""Entry point of `python -m handoff` (see handoff.cli)."""

import sys

from .cli import main

sys.exit(main())
