"""``python -m lmcore COMMAND``: the same commands as ``lmcore`` (see :mod:`lmcore.cli`)."""

import sys

from lmcore.cli import main

sys.exit(main())
