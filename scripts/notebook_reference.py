"""The notebooks' own code for each lesson: see ``trainlab.lessons.notebook_reference``.

python scripts/notebook_reference.py --lesson digits_dropout --seeds 0 1 2 3 4
"""

import sys

from trainlab.lessons.notebook_reference import main

if __name__ == "__main__":
    sys.exit(main())
