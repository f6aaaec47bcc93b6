"""The trusted grader: every score is decided here, from plain data the worker sent back.

One submission: ``extract`` (notebook -> ``program``), ``proxy`` (the ``student`` that rubric
tests call), ``rubric`` (the pytest plugin that scores), ``grade`` (all of it for one
submission), ``results`` (what grading decides). A class: ``locate`` (who is graded),
``batch`` (the run), ``parallel`` and ``cluster`` (where it runs), ``store`` and ``output``
(results as they come), ``late`` (penalties).
"""
