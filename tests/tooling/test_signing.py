"""cosign's and skopeo's command lines, as the release runs them, against recording stand-ins.

The release tests (tests/release/) run the real tools against a loopback registry; these
check, in milliseconds, what our wrappers ask of them: offline flags, the key, HTTP only for
loopback, the password's default, and what they make of each answer.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from tooling.samples import DIGEST
from tools.debtools import ChrootSkopeo
from tools.process import BuildError
from tools.release import policy
from tools.release.references import Pinned, Repository
from tools.release.signing import PASSWORD_ENV, Cosign, signed_digest, statement_of

LOOPBACK = Pinned(Repository.parse("127.0.0.1:5000/moscow-time"), DIGEST)
REMOTE = Pinned(Repository.parse("registry.example/team/moscow-time"), DIGEST)

#: A stand-in for a tool: it records its arguments, the password it was given and, for
#: skopeo, the policy it was pointed at; then answers as told in answer.json.
RECORDER = """\
import json, os, pathlib, sys
here = pathlib.Path(__file__).parent
answer = json.loads((here / "answer.json").read_text())
args = sys.argv[1:]
seen = {"args": args, "password": os.environ.get("COSIGN_PASSWORD")}
if "--policy" in args:
    root = pathlib.Path(answer["root"])
    seen["policy"] = json.loads((root / args[args.index("--policy") + 1].lstrip("/")).read_text())
    seen["copy_to"] = args[-1]
if args[:1] == ["generate-key-pair"]:
    prefix = args[args.index("--output-key-prefix") + 1]
    for suffix in (".key", ".pub"):
        pathlib.Path(prefix + suffix).write_text("key")
with (here / "calls.jsonl").open("a") as calls:
    calls.write(json.dumps(seen) + "\\n")
sys.stdout.write(answer.get("stdout", ""))
sys.stderr.write(answer.get("stderr", ""))
sys.exit(answer.get("status", 0))
"""


class Recorder:
    """One recording stand-in in its own directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / "tool"
        self.path.write_text(f"#!{sys.executable}\n{RECORDER}")
        self.path.chmod(self.path.stat().st_mode | stat.S_IXUSR)
        self.answer()

    def answer(self, *, stdout: str = "", stderr: str = "", status: int = 0, **more: str) -> None:
        answer = {"stdout": stdout, "stderr": stderr, "status": status, **more}
        (self.directory / "answer.json").write_text(json.dumps(answer))

    def calls(self) -> list[dict[str, Any]]:
        lines = (self.directory / "calls.jsonl").read_text().splitlines()
        return [json.loads(line) for line in lines]

    def last(self) -> list[str]:
        args: list[str] = self.calls()[-1]["args"]
        return args


@pytest.fixture
def tool(tmp_path: Path) -> Recorder:
    directory = tmp_path / "tool"
    directory.mkdir()
    return Recorder(directory)


@pytest.fixture
def cosign(tool: Recorder) -> Cosign:
    return Cosign(tool.path)


def test_signing_is_offline_with_the_key_and_http_only_for_loopback(
    tool: Recorder, cosign: Cosign
) -> None:
    cosign.sign(LOOPBACK, Path("/k/release.key"))
    assert tool.last() == [
        "sign", "--yes", "--key", "/k/release.key", "--tlog-upload=false",
        "--allow-http-registry", str(LOOPBACK),
    ]  # fmt: skip
    cosign.sign(REMOTE, Path("/k/release.key"), recursive=True)
    assert tool.last() == [
        "sign", "--yes", "--recursive", "--key", "/k/release.key", "--tlog-upload=false",
        str(REMOTE),
    ]  # fmt: skip


def test_an_attestation_names_its_type_and_predicate(tool: Recorder, cosign: Cosign) -> None:
    cosign.attest(REMOTE, Path("/k/release.key"), Path("/p/sbom.json"), "spdxjson")
    assert tool.last() == [
        "attest", "--yes", "--key", "/k/release.key", "--tlog-upload=false",
        "--type", "spdxjson", "--predicate", "/p/sbom.json", str(REMOTE),
    ]  # fmt: skip
    cosign.attest(LOOPBACK, Path("/k/release.key"), Path("/p/sbom.json"), "spdxjson")
    assert tool.last()[-2:] == ["--allow-http-registry", str(LOOPBACK)]


def test_verifying_ignores_only_the_transparency_log(tool: Recorder, cosign: Cosign) -> None:
    payload = {"critical": {"image": {"docker-manifest-digest": DIGEST}}}
    tool.answer(stdout=json.dumps([payload]))
    assert cosign.verify(LOOPBACK, Path("/k/cosign.pub")) == [payload]
    assert tool.last() == [
        "verify", "--key", "/k/cosign.pub", "--insecure-ignore-tlog",
        "--allow-http-registry", str(LOOPBACK),
    ]  # fmt: skip
    assert signed_digest(payload) == DIGEST


def test_a_verify_that_prints_no_list_is_refused(tool: Recorder, cosign: Cosign) -> None:
    tool.answer(stdout=json.dumps({"critical": {}}))
    with pytest.raises(BuildError) as refused:
        cosign.verify(REMOTE, Path("/k/cosign.pub"))
    assert str(refused.value) == f"cosign verify printed no list of payloads for {REMOTE}"


def test_attestations_are_read_one_envelope_a_line(tool: Recorder, cosign: Cosign) -> None:
    statements = [{"subject": [{"digest": {"sha256": "ab" * 32}}], "n": n} for n in (1, 2)]
    envelopes = [
        {
            "payloadType": "application/vnd.in-toto+json",
            "payload": base64.b64encode(json.dumps(each).encode()).decode(),
        }
        for each in statements
    ]
    tool.answer(stdout="\n".join(json.dumps(each) for each in envelopes) + "\n\n")
    assert cosign.verify_attestation(REMOTE, Path("/k/cosign.pub"), "slsaprovenance1") == (
        statements
    )
    assert tool.last() == [
        "verify-attestation", "--key", "/k/cosign.pub", "--insecure-ignore-tlog",
        "--type", "slsaprovenance1", str(REMOTE),
    ]  # fmt: skip
    assert statement_of(envelopes[1]) == statements[1]
    cosign.verify_attestation(LOOPBACK, Path("/k/cosign.pub"), "vuln")
    assert tool.last()[-2:] == ["--allow-http-registry", str(LOOPBACK)]
    tool.answer(stderr="Error: none found\n", status=1)
    with pytest.raises(BuildError) as failed:
        cosign.verify_attestation(REMOTE, Path("/k/cosign.pub"), "vuln")
    assert str(failed.value) == (
        f"verifying the vuln attestation of {REMOTE} with /k/cosign.pub failed: Error: none found"
    )


def test_a_failure_names_the_step_and_cosigns_last_line(tool: Recorder, cosign: Cosign) -> None:
    tool.answer(stderr="Error: first\nError: no signatures found\n", status=1)
    with pytest.raises(BuildError) as failed:
        cosign.verify(REMOTE, Path("/k/cosign.pub"))
    assert str(failed.value) == (
        f"verifying the signature of {REMOTE} with /k/cosign.pub failed: "
        "Error: no signatures found"
    )
    tool.answer(status=1)
    with pytest.raises(BuildError) as silent:
        cosign.attest(REMOTE, Path("/k/k.key"), Path("/p.json"), "vuln")
    assert str(silent.value) == f"attesting vuln for {REMOTE} failed: no message"
    with pytest.raises(BuildError) as signing:
        cosign.sign(REMOTE, Path("/k/k.key"))
    assert str(signing.value) == f"signing {REMOTE} failed: no message"


def test_the_password_is_empty_unless_one_is_given(
    tool: Recorder, cosign: Cosign, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    monkeypatch.setenv("MOSCOW_TIME_PROBE", "kept")
    cosign.sign(REMOTE, Path("/k/k.key"))
    monkeypatch.setenv(PASSWORD_ENV, "s3cret")
    cosign.sign(REMOTE, Path("/k/k.key"))
    assert [call["password"] for call in tool.calls()] == ["", "s3cret"]
    assert os.environ["MOSCOW_TIME_PROBE"] == "kept"


def test_a_key_pair_is_made_private_and_never_over_another(
    tool: Recorder, cosign: Cosign, tmp_path: Path
) -> None:
    prefix = tmp_path / "keys" / "2026" / "release"
    private, public = cosign.generate_key_pair(prefix)
    assert (private.name, public.name) == ("release.key", "release.pub")
    assert tool.last() == ["generate-key-pair", "--output-key-prefix", str(prefix)]
    assert cosign.generate_key_pair(prefix.parent / "rebuilder")[0].exists(), "a second pair"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    for existing in (private, public):
        other = existing.with_suffix(".pub" if existing == private else ".key")
        other.unlink()
        with pytest.raises(BuildError) as refused:
            cosign.generate_key_pair(prefix)
        assert str(refused.value) == (
            f"{private} or {public} exists: move it away, or keep using it"
        )
        assert existing.read_text() == "key", "the key it refused to replace is kept"
        other.write_text("key")
    tool.answer(stderr="Error: cannot write\n", status=1)
    with pytest.raises(BuildError, match=r"^making a key failed: Error: cannot write$"):
        cosign.generate_key_pair(tmp_path / "elsewhere" / "k")


class RootedSkopeo(ChrootSkopeo):
    """Debian 13's skopeo as the gate sees it, its root a temporary directory and its
    binary the recorder."""

    def __init__(self, root: Path, binary: Path) -> None:
        self.root, self.binary = root, binary

    def command(self, *args: str) -> list[str]:
        return [str(self.binary), *args]


@pytest.fixture
def gate_skopeo(tool: Recorder, tmp_path: Path) -> RootedSkopeo:
    root = tmp_path / "root"
    root.mkdir()
    tool.answer(root=str(root))
    return RootedSkopeo(root, tool.path)


def test_the_gate_copies_under_our_policy_and_throws_the_copy_away(
    tool: Recorder, gate_skopeo: RootedSkopeo, tmp_path: Path
) -> None:
    public = tmp_path / "cosign.pub"
    public.write_text("PUBLIC KEY")
    gate = policy.Gate(gate_skopeo, LOOPBACK.repository, public)
    admission = gate.check(LOOPBACK)
    assert admission == policy.Admission(True, "")
    [call] = tool.calls()
    trust = "/srv/trust-moscow-time"
    assert call["args"] == [
        "--policy", f"{trust}/policy.json", "--registries.d", f"{trust}/registries.d",
        "copy", "--quiet", "--src-tls-verify=false", f"docker://{LOOPBACK}",
        "dir:/srv/gate-copy",
    ]  # fmt: skip
    assert call["policy"] == {
        "default": [{"type": "reject"}],
        "transports": {
            "docker": {
                "127.0.0.1:5000/moscow-time": [
                    {
                        "type": "sigstoreSigned",
                        "keyPath": f"{trust}/cosign.pub",
                        "signedIdentity": {"type": "matchRepository"},
                    }
                ]
            }
        },
    }
    assert (gate_skopeo.root / "srv/trust-moscow-time/cosign.pub").read_text() == "PUBLIC KEY"
    sigstore = gate_skopeo.root / "srv/trust-moscow-time/registries.d/sigstore.yaml"
    assert sigstore.read_text() == "default-docker:\n  use-sigstore-attachments: true\n"
    assert not (gate_skopeo.root / "srv/gate-copy").exists()


def test_the_gate_says_why_skopeo_refused(
    tool: Recorder, gate_skopeo: RootedSkopeo, tmp_path: Path
) -> None:
    public = tmp_path / "cosign.pub"
    public.write_text("PUBLIC KEY")
    gate = policy.Gate(gate_skopeo, REMOTE.repository, public)
    tool.answer(
        root=str(gate_skopeo.root),
        status=1,
        stderr='Getting image source signatures\ntime="2026-12-04T00:00:00Z" level=fatal '
        'msg="Source image rejected: A signature was required, but no \\"sig\\" exists"\n',
    )
    assert gate.check(REMOTE) == policy.Admission(
        False, 'Source image rejected: A signature was required, but no "sig" exists'
    )
    assert "--src-tls-verify=false" not in tool.last()
    assert f"{tool.calls()[-1]['args'][1]}".startswith("/srv/trust-team-moscow-time/")
    tool.answer(root=str(gate_skopeo.root), status=1, stderr='level=fatal msg="to registry X"')
    assert gate.check(REMOTE) == policy.Admission(False, "to registry X")
    tool.answer(root=str(gate_skopeo.root), status=1, stdout="refused, plainly\n")
    assert gate.check(REMOTE) == policy.Admission(False, "refused, plainly")
    tool.answer(root=str(gate_skopeo.root), status=1)
    assert gate.check(REMOTE) == policy.Admission(False, "")
