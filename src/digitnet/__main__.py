"""Provides ``python -m digitnet``, the same as the ``digitnet`` command.

``python -m`` puts the working folder first on ``sys.path``; digitnet takes it off again, so a
``.py`` file lying in the folder it is run from (a shared run folder, say) can never be imported
by name instead of a real module.
"""

import os
import sys

if sys.path and sys.path[0] in ("", os.getcwd()):
    sys.path.pop(0)

from digitnet.cli.main import main  # noqa: E402

sys.exit(main())
