"""Reference solutions of assignments whose deadline and late window have passed, one module
per assignment (``a03_backprop``), written by ``course publish``: later notebooks import them
instead of asking for a paste. Student-safe: the kit ships them and the grading worker imports
them. Empty until an assignment is published (``published.yml`` at the course root lists them)."""
