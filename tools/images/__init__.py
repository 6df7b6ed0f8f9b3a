"""Step 2 of the pipeline, the images: from a plan to a build record.

`options` (the command line) and `plan` (`BuildPlan`: every choice, made
once) → `context` (`Build`: the plan bound to a builder) → `pipeline` (the
steps in order) with `standins` (the bases from Debian packages, by the
recipes of `tools.inputs.recipes`), `appimages` (one app image, one index),
`platforms` → `record` (`BuildRecord`, the one
reader and writer of build/images.json). What is built is compared with
another build in the rebuild stage, `tools.rebuild`.
"""
