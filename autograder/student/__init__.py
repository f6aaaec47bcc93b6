"""Student-safe helpers: what notebooks, public and hidden rubric tests, and the worker import.

Nothing here knows a solution, a hidden test or a held-out label, and nothing here imports
the rest of the engine: this package is mounted into every worker and handed to students.
"""
