"""The "fastest, most compact model" exercise, from a checkout: see
``src/trainlab/lessons/conf/compact_search.yaml``.

python scripts/compact_search.py target_acc=0.97 n_trials=30
(installed: python -m trainlab.lessons.compact_search target_acc=0.97 n_trials=30)
"""

from trainlab.lessons.compact_search import main

if __name__ == "__main__":
    main()
