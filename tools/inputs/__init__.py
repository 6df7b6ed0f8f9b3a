"""Step 1 of the pipeline, the inputs: the pip and Debian locks, the wheelhouse, the .debs.

`piplocks` and `aptlock` (the locks' formats), `baselock` (the upstream bases by digest),
`recipes` (what each stand-in is made of, resolved live), `locking` (`nox -s lock`),
`wheelhouse` (the locked wheels per CPU), `debs` (the locked .debs: cache,
mirror, checks, local repository), `vendor` (all of it for an air-gapped build).
"""
