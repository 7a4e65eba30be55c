"""Lesson exercises that are more than one training run, each behind a script in ``scripts/``.

``gradient_descent`` (with ``linear_neuron`` and ``descent_figures``) shows how a step
of training works, by hand and by two libraries; ``compact_search`` (with
``compact_plot``) searches for the smallest, fastest-learning MLP through
``trainlab.api.train``.
"""
