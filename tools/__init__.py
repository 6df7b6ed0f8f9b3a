"""The build tooling behind noxfile.py: one module per concern (docs/architecture.md maps them).

Standard library only, so nox can import it before any session venv exists; sessions.py,
the glue the sessions share, imports nox itself.
"""
