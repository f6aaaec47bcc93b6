"""Building a course: templates and reference -> source notebooks -> release notebooks
(``notebook``, ``build``), and the instructor's self-tests (``variants``, ``examples``,
``verify``)."""
