"""Entry point for `python -m kerasfix`."""

import sys

from kerasfix.cli import main

sys.exit(main())
