"""Publishing a grading run: terminal tables (``report``), other systems' formats
(``exports``) and one HTML page per student (``feedback``)."""
