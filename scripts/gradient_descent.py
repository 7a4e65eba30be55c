"""The gradient-descent lesson as pictures: see ``scripts/conf/gradient_descent.yaml``.

python scripts/gradient_descent.py lr=0.01 steps=100
"""

from __future__ import annotations

from pathlib import Path

import hydra

from trainlab.cli import one_line_errors
from trainlab.lessons.gradient_descent import run

main = hydra.main(
    config_path=str(Path(__file__).parent / "conf"), config_name="gradient_descent", version_base="1.3"
)(one_line_errors(run))

if __name__ == "__main__":
    main()
