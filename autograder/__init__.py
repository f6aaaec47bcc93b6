"""The engine of a course that builds and grades itself.

Rooms, in the order of the import direction (a room imports only from rooms after it):

* ``cli``: the ``course`` command.
* ``selfcheck``: the student's self-check (each notebook's last cell, ``course check``, the kit's
  own ``course check``): the public tests through the grading engine, as a table.
* ``building``: templates and reference -> release notebooks; verify; example submissions.
* ``publishing``: stored results -> terminal tables, other systems' formats, feedback pages.
* ``grading``: the trusted grader: a submission -> its program -> a worker -> rubric scores;
  whole classes, resumably, in parallel or on a cluster, writing results as they come.
* ``sandbox``: the worker and its walls: what runs beside student code (worker, zygote,
  confine, wire) and how the grader starts, pools and talks to it.
* ``student``: student-safe helpers (data sets, gradient checks, assertions) that
  notebooks, rubric tests and the student kit import.
* ``course``: course.yml and the course's folder layout; imported by every room.

A worker sees ``student/`` and ``sandbox/`` only: nothing else of the package, and nothing of
the course repository. See docs/architecture.md.
"""
