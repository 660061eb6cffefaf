"""boostobj's benchmarks: quality, tails, intervals, parameter ranges and speed.

Each is a module run from the repository root, e.g. ``python -m benchmarks.speed``;
it writes its tables into ``benchmarks/results/``, each table with the
command, the stack and the date that made it. ``benchmarks._common`` holds
what they share.
"""
