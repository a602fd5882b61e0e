"""`python -m core.cli COMMAND ...`."""

import os
import sys

from core.cli.main import main

os.environ.setdefault("PYTHONUNBUFFERED", "1")
sys.exit(main())
