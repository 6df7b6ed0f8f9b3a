"""Mutation testing of the code that guards trust (`nox -s mutants`).

mutmut changes each guarded module one small step at a time (a comparison
flipped, a constant changed, a call dropped) and runs the unit and tooling
tests that guard that module; a mutant no test notices has survived. The run
happens in a scratch clone under build/mutants/ with the checkout's files
copied over it (uncommitted edits included), never in the checkout: mutmut
writes its mutants/ beside the sources. Each module gets a score; a survivor
is killed by a better test or listed, with why no test can tell it apart, in
tests/mutants/equivalent.txt. The committed run (docs/mutation-scores.json)
is a floor: a module whose score drops below it fails the session.
"""
