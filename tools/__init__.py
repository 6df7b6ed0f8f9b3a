"""The build tooling behind noxfile.py; its folders follow the pipeline (docs/architecture.md).

inputs/ → images/ (with builders/) → checks/, release/; bench/ and stress/
measure what was built, through containers.py. At the top: the project's
model, paths and settings, and what every step shares (process, tables,
loopback, wrk). Standard library only outside bench/, stress/ and release/,
so nox can import it before any session venv exists; noxglue.py, the nox
glue, is the one module that imports nox.
"""
