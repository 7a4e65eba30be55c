"""The gradient-descent lesson, from a checkout: see ``src/trainlab/lessons/conf/gradient_descent.yaml``.

python scripts/gradient_descent.py lr=0.01 steps=100
(installed: python -m trainlab.lessons.gradient_descent lr=0.01 steps=100)
"""

from trainlab.lessons.gradient_descent import main

if __name__ == "__main__":
    main()
