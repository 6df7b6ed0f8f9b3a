"""The stress run: hostile clients and starved containers, against the real images.

`attacks` holds the attacks and the normal client that watches them,
`scenarios` runs each against a fresh container, `__main__` writes the table
to docs/reliability.md. Every target is a port published on 127.0.0.1.
"""
