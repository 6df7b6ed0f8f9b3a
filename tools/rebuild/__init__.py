"""Step 5 of the pipeline, the rebuild: the same inputs built again, and the two compared.

Every rebuild gives one result type, `comparison.Comparison`: `reproduce`
(two clean builds on this machine), `published` (the commit of
published/image-ids.json rebuilt here) and `rebuild` with `findings` (a
release rebuilt from its provenance alone, against the registry's layers).
`__main__` is `nox -s rebuild` and the release rehearsal, which ends in one.
"""
