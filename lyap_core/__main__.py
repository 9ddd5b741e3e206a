"""``python -m lyap_core spectrum ...``: the numerics-only command line (:mod:`.cli`)."""

from .cli import main

raise SystemExit(main())
