"""The worker and its walls.

Inside the sandbox, beside student code: ``worker`` (holds one submission and answers
calls), ``zygote`` (a warm process that forks workers), ``confine`` (seccomp and Landlock a
worker applies to itself), ``wire`` (the pipe protocol, used by both ends). In the grader:
``launch`` (isolation tiers and the command that starts a worker), ``cgroup`` (GPU memory
limits), ``processes`` (handles on a worker's process), ``client`` (the grader's end of the
protocol) and ``pool`` (where a submission's worker comes from).

Modules that run inside import only the standard library, NumPy (and torch when the
submission does) and each other.
"""
