"""Step 5 of the pipeline, the release: images leave the machine by digest, signed, with an
SBOM and SLSA provenance.

`registry` starts a loopback registry; `references` parses where images go;
`provenance` writes the SLSA predicate; `signing` drives cosign (Debian 13's,
from `tools.debtools`); `release` pushes, signs and attests, and `record` is
release.json; `consumer` is the user's check; `policy` is the pull-time gate
(an `Admission`); `tamper` is the attacker the gate must refuse; `kubeplay`
runs the manifests on podman; `vsa` writes and reads the verification
summaries a rebuild signs; `__main__` is the command line. The rebuild, and
the rehearsal that ends in one, are the next stage: `tools.rebuild`.
"""
