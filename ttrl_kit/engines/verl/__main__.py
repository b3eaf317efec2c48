"""``python -m ttrl_kit.engines.verl [--dry-run] +ttrl.task=NAME <verl Hydra overrides>``."""

import sys

from ttrl_kit.engines.verl.launcher import main

sys.exit(main())
