"""The lesson table of docs/lessons.md (notebooks beside engines): see ``trainlab.lessons.lesson_table``.

python scripts/lesson_table.py --lesson digits_dropout --output table.md
"""

import sys

from trainlab.lessons.lesson_table import main

if __name__ == "__main__":
    sys.exit(main())
