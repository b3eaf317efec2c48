"""``python -m ttrl_kit.engines.openrlhf --task math -- <OpenRLHF flags>``."""

import sys

from ttrl_kit.engines.openrlhf.launcher import main

sys.exit(main())
