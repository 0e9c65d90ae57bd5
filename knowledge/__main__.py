"""Entry point of `python -m knowledge` (see knowledge.cli)."""

import sys

from .cli import main

sys.exit(main())
