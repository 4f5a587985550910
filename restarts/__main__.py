"""``python -m restarts``: the same as the ``restarts`` command."""

import sys

from .cli import main

sys.exit(main())
