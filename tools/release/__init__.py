"""The release: images leave the machine by digest, signed, with an SBOM and SLSA provenance.

`registry` starts a loopback registry; `debtools` unpacks Debian 13's cosign
and skopeo; `references` parses where images go; `provenance` writes the SLSA
predicate; `signing` drives cosign; `release` pushes, signs and attests;
`consumer` is the user's check; `policy` is the pull-time gate; `tamper` is
the attacker the gate must refuse; `kubeplay` runs the manifests on podman;
`__main__` is the command line, and `rehearse` all of it against a loopback registry.
"""
