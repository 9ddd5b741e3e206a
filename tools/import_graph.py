"""Print, per package of a checkout, its pipeline-stack imports and one import cycle if any.

    python tools/import_graph.py [CHECKOUT]      # default: this repository

Uses the same AST reading as tests/test_layers.py (function-local imports included), so
the numbers in a closing note are those the layering test enforces. For an old commit:
``git worktree add /tmp/old <rev> && python tools/import_graph.py /tmp/old``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import test_layers as layers  # noqa: E402


def main(checkout: Path) -> None:
    layers.PACKAGES = {
        "lyap_core": checkout / "lyap_core",
        "lyap_workflow": checkout / "workflow" / "lyap_workflow",
    }
    for pkg, root in layers.PACKAGES.items():
        if not root.exists():
            print(f"{pkg}: absent")
            continue
        mods = layers.modules(pkg)
        stack = {
            name: sorted(
                {
                    d.split(".")[0]
                    for d in layers.imported_names(name, path)
                    if d.split(".")[0] in layers.PIPELINE_STACK and d.split(".")[0] != pkg
                }
            )
            for name, path in mods.items()
        }
        stack = {k: v for k, v in stack.items() if v}
        cycle = layers.find_cycle(layers.internal_graph(pkg))
        print(f"{pkg}: {len(mods)} modules")
        print(f"  imports of the pipeline stack: {stack or 'none'}")
        print(f"  import cycle: {' -> '.join(cycle) if cycle else 'none'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else ROOT)
