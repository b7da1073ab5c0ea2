"""``python -m framing.cli``: the same as the ``framing`` console script."""

import sys

from framing.cli.app import main

sys.exit(main())
