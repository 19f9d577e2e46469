"""Provides ``python -m digitnet``, the same as the ``digitnet`` command."""

import sys

from digitnet.cli.main import main

sys.exit(main())
