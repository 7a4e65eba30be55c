"""Notebook 000's gradient steps by hand, from a checkout: see
``src/trainlab/lessons/conf/manual_steps.yaml``.

python scripts/manual_steps.py
(installed: python -m trainlab.lessons.manual_steps)
"""

from trainlab.lessons.manual_steps import main

if __name__ == "__main__":
    main()
