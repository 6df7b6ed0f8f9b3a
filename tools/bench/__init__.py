"""The benchmark: what the images cost, side by side with a seed-style baseline.

Run by `nox -s bench` (`-- --quick` for CI). Every figure is taken in one run
on one machine, next to the baseline (baseline/: one stage, root, Flask's
development server), a start-up floor and an nginx ceiling, so the report
gives ratios rather than absolute numbers from a shared, noisy machine.
`measure` takes the figures, `report` writes them down.
"""
