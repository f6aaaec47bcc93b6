"""The course's reference solutions: ordinary, importable Python.

Every student-facing function keeps its solution between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` lines; the build copies the function into the notebook and nbgrader
replaces that region with a stub. Nothing here may be mounted into a grading worker.
"""
