"""The "fastest, most compact model" exercise: see ``scripts/conf/compact_search.yaml``.

python scripts/compact_search.py target_acc=0.97 n_trials=30
"""

from __future__ import annotations

from pathlib import Path

import hydra

from trainlab.cli import one_line_errors
from trainlab.lessons.compact_search import search

main = hydra.main(
    config_path=str(Path(__file__).parent / "conf"), config_name="compact_search", version_base="1.3"
)(one_line_errors(search))

if __name__ == "__main__":
    main()
