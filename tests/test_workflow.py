"""The GitHub Actions workflow model teams copy (docs/examples/model-ci.yml), its commands run
here in order against the stub server and its install line against a git checkout; the release
workflow (docs/examples/release.yml); and the pre-commit hook that audits staged cassettes."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_empathy.emotions import EMOTIONS

from .conftest import FAKE_KEY, ROOT, VERSION, cli, require
from .stub_server import completion, default_answer, is_judge_request
from .test_ci_recipe import recipe

WORKFLOW = ROOT / "docs" / "examples" / "model-ci.yml"
RELEASE = ROOT / "docs" / "examples" / "release.yml"
# Every job's first command: pytest-empathy from where the line marked EDIT says.
INSTALL = 'pip install "$PYTEST_EMPATHY_REQUIREMENT"'
HOOKS = ROOT / ".pre-commit-hooks.yaml"
SHIPPED_CASSETTE = ROOT / "cassettes" / "smollm2-135m" / "sad" / "sad-s55.json"
# The commands say `pytest` and `pytest-empathy`: the venv's, first on PATH.
VENV_PATH = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
# The workflow's env, as the stub profile and corpus need it.
STUB_ENV = {
    "PYTHON_VERSION": "3.11",
    # As the workflow has it: this version's tag, of a repository the team names.
    "PYTEST_EMPATHY_REQUIREMENT": f"pytest-empathy @ git+https://github.com/OWNER/pytest-empathy@v{VERSION}",
    "EMPATHY_TESTS": "--pyargs pytest_empathy.plugin.benchmark",
    "EMPATHY_MODEL": "stub",
    "EMPATHY_JUDGE": "stub",
    "EMPATHY_CORPUS": "corpus.csv",
    "EMPATHY_BASELINE": "human-raters",
    "EMPATHY_GATE": "off",
    "EMPATHY_COMPARE": "accepted",
    # The stub corpus's 8 cases show at best a bound of -25 pts with nothing changed.
    "EMPATHY_COMPARE_FAIL": "decline,good-drop:30",
}
STUB_OPTIONS = [
    f"--empathy-{name}={STUB_ENV[f'EMPATHY_{name.upper()}']}" for name in ("model", "judge", "corpus", "baseline")
]
# The stub corpus's four emotions, in two shards.
STUB_SHARDS = ["afraid or caring", "joyful or sad"]
Step = subprocess.CompletedProcess[str]
SECRETS = {"secrets.OPENAI_API_KEY": FAKE_KEY, "secrets.TOGETHER_API_KEY": FAKE_KEY}


def base_branch_saved_runs(cwd: Path) -> Path:
    """The saved runs as the base branch has them: saved by the test before any change."""
    return cwd / "base-branch-saved-runs"


def workflow(path: Path = WORKFLOW) -> dict[str, Any]:
    loaded: dict[Any, Any] = yaml.safe_load(path.read_text())
    loaded["on"] = loaded.pop(True)  # YAML 1.1 reads the key `on` as true
    return loaded


def action_steps(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [step for step in job["steps"] if step.get("uses", "").startswith(f"{action}@")]


def resolved(text: str, contexts: dict[str, str]) -> str:
    """``text`` with its ${{ ... }} expressions replaced from ``contexts``; one the test does
    not know is a KeyError."""
    return re.sub(r"\$\{\{\s*([\w.-]+)\s*\}\}", lambda match: contexts[match.group(1)], text)


# What bash finds as `pytest` and `pytest-empathy` when a job's commands run in the test's
# process: a small process that hands the test the words bash expanded, its working directory
# and environment over a socket, and prints and exits with what the run there gave.
HAND_OVER = """\
import json, os, socket, sys

with socket.socket(socket.AF_UNIX) as connection:
    connection.connect({socket!r})
    asked = {{"argv": [os.path.basename(sys.argv[0]), *sys.argv[1:]], "cwd": os.getcwd(), "env": dict(os.environ)}}
    connection.sendall(json.dumps(asked).encode())
    connection.shutdown(socket.SHUT_WR)
    given = json.loads(b"".join(iter(lambda: connection.recv(1 << 16), b"")))
sys.stdout.buffer.write(given["stdout"].encode())
sys.stderr.buffer.write(given["stderr"].encode())
sys.exit(given["status"])
"""


def received(connection: socket.socket) -> bytes:
    """All the other end sent until it stopped sending."""
    return b"".join(iter(lambda: connection.recv(1 << 16), b""))


@dataclass
class InThisProcess:
    """Where a job's `pytest` and `pytest-empathy` run: in the test's process, each as in a
    new one (tests/conftest.py's pytester and cli), with the words, working directory and
    environment bash gave the command. Bash itself, and every other command of a step, runs
    as the runner runs it. test_isolation holds such runs' output to a process's; test_wheel
    runs the installed commands as processes."""

    pytester: pytest.Pytester
    commands: Path
    listener: socket.socket
    # The words of each command run, in order.
    ran: list[list[str]] = field(default_factory=list)

    def run(self, asked: dict[str, Any]) -> Step:
        self.ran.append(asked["argv"])
        with pytest.MonkeyPatch.context() as patch:
            for name in set(os.environ) - set(asked["env"]):
                patch.delenv(name)
            for name, value in asked["env"].items():
                patch.setenv(name, value)
            patch.chdir(asked["cwd"])
            command, *args = asked["argv"]
            if command == "pytest-empathy":
                return cli(*args, cwd=Path(asked["cwd"]))
            assert command == "pytest" and Path(asked["cwd"]) == self.pytester.path
            result = self.pytester.runpytest(*args)
            printed = ("".join(f"{line}\n" for line in lines) for lines in (result.outlines, result.errlines))
            return Step(asked["argv"], int(result.ret), *printed)

    def serve(self, bash: subprocess.Popen[bytes], within: float) -> None:
        """Run each command bash hands over until bash exits."""
        ends = time.monotonic() + within
        while bash.poll() is None:
            assert time.monotonic() < ends, f"the step ran past {within} s"
            if not select.select([self.listener], [], [], 0.05)[0]:
                continue
            connection, _ = self.listener.accept()
            with connection:
                done = self.run(json.loads(received(connection)))
                given = {"status": done.returncode, "stdout": done.stdout, "stderr": done.stderr}
                connection.sendall(json.dumps(given).encode())


@pytest.fixture
def here(pytester: pytest.Pytester) -> Iterator[InThisProcess]:
    """Run a job's `pytest` and `pytest-empathy` in this process (InThisProcess)."""
    # A socket's path is short: not under pytester's folder.
    with tempfile.TemporaryDirectory(prefix="workflow-") as folder, socket.socket(socket.AF_UNIX) as listener:
        listener.bind(f"{folder}/socket")
        listener.listen()
        commands = Path(folder, "bin")
        commands.mkdir()
        for name in ("pytest", "pytest-empathy"):
            (commands / name).write_text(f"#!{sys.executable} -IS\n" + HAND_OVER.format(socket=f"{folder}/socket"))
            (commands / name).chmod(0o755)
        yield InThisProcess(pytester, commands, listener)


def bash_step(command: list[str], cwd: Path, env: dict[str, str], here: InThisProcess | None) -> Step:
    """A step's script run by bash -e; with ``here``, its pytest commands in this process."""
    if here is None:
        return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    env = {**env, "PATH": f"{here.commands}{os.pathsep}{env['PATH']}"}
    # Files, not pipes: nothing reads a pipe while this process runs a command.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        bash = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err)
        try:
            here.serve(bash, within=300)
        finally:
            if bash.poll() is None:
                bash.kill()
            bash.wait()
        printed = []
        for file in (out, err):
            file.seek(0)
            printed.append(file.read().decode())
    return Step(command, bash.returncode, *printed)


def run_job(
    job: dict[str, Any], cwd: Path, contexts: dict[str, str] | None = None, here: InThisProcess | None = None
) -> list[Step]:
    """A job's shell steps after its install, in order, as the runner runs them (bash -e, the
    workflow's env and then the step's), up to the first that fails; with ``here``, the
    commands pytest-empathy installs run in this process (InThisProcess)."""
    contexts = contexts or {}
    shell_steps = [step for step in job["steps"] if "run" in step]
    assert shell_steps[0]["run"] == INSTALL
    env = {**os.environ, "PATH": VENV_PATH, **STUB_ENV, "GITHUB_STEP_SUMMARY": str(cwd / "step-summary.md")}
    done: list[Step] = []
    for step in shell_steps[1:]:
        step_env = {name: resolved(value, contexts) for name, value in step.get("env", {}).items()}
        command = ["bash", "--noprofile", "--norc", "-e", "-c", resolved(step["run"], contexts)]
        done.append(bash_step(command, cwd, env | step_env, here))
        if done[-1].returncode != 0 and not step.get("continue-on-error"):
            break
    return done


def output(steps: list[Step]) -> str:
    return "".join(step.stdout + step.stderr for step in steps)


def exits(steps: list[Step]) -> list[int]:
    return [step.returncode for step in steps]


@dataclass
class PullRequest:
    shards: list[list[Step]]
    merge: list[Step]
    merge_summary: str

    @property
    def steps(self) -> list[Step]:
        return [*(step for shard in self.shards for step in shard), *self.merge]


def pull_request(flow: dict[str, Any], cwd: Path, here: InThisProcess | None = None) -> PullRequest:
    """The pull-request jobs in their order: each shard (and what it uploads), then the merge."""
    summary = cwd / "step-summary.md"
    summary.write_text("")
    shards = []
    for index, emotions in enumerate(STUB_SHARDS):
        contexts = {"strategy.job-index": str(index), "matrix.emotions": emotions}
        shards.append(run_job(flow["jobs"]["shard"], cwd, contexts, here))
        upload = action_steps(flow["jobs"]["shard"], "actions/upload-artifact")[0]
        for name in resolved(upload["with"]["path"], contexts).split():
            assert (cwd / name).is_file(), f"{name} not written: {output(shards[-1])}"
    base = next(s for s in action_steps(flow["jobs"]["merge"], "actions/checkout") if s["with"].get("path") == "base")
    assert (
        base["with"]["ref"] == "${{ github.base_ref }}" and base["with"]["sparse-checkout"] == "benchmarks/saved-runs"
    )
    # What that checkout gives: the base branch's saved runs (here, as recorded before the change).
    shutil.rmtree(cwd / "base", ignore_errors=True)
    shutil.copytree(base_branch_saved_runs(cwd), cwd / "base" / "benchmarks" / "saved-runs")
    merge = run_job(flow["jobs"]["merge"], cwd, here=here)
    merge_summary = summary.read_text()
    return PullRequest(shards, merge, merge_summary)


# The workflow's shape


def test_the_workflow_replays_in_shards_on_pull_requests_and_records_on_dispatch():
    flow = workflow()
    assert set(flow["on"]) == {"pull_request", "workflow_dispatch"}
    assert set(flow["env"]) == set(STUB_ENV)
    assert flow["env"]["PYTEST_EMPATHY_REQUIREMENT"] == STUB_ENV["PYTEST_EMPATHY_REQUIREMENT"]
    # The built-in benchmark by default: a model repository needs no module of its own.
    assert flow["env"]["EMPATHY_TESTS"] == STUB_ENV["EMPATHY_TESTS"]
    # Least privilege: read by default, write only where a job needs it.
    assert flow["permissions"] == {"contents": "read"}
    jobs = flow["jobs"]
    assert {name: job.get("permissions") for name, job in jobs.items()} == {
        "shard": None,
        "merge": {"contents": "read", "checks": "write"},
        "record": {"contents": "write", "pull-requests": "write"},
    }
    for name in ("shard", "merge"):
        assert "github.event_name == 'pull_request'" in jobs[name]["if"]
    assert jobs["record"]["if"] == "github.event_name == 'workflow_dispatch'"

    shard = jobs["shard"]
    assert len(shard["strategy"]["matrix"]["emotions"]) >= 2 and shard["strategy"]["fail-fast"] is False
    replay = next(step["run"] for step in shard["steps"] if "--empathy-shard" in step.get("run", ""))
    assert "--empathy-report=" in replay and "--junitxml=" in replay and "--empathy-record=none" in replay
    assert jobs["merge"]["needs"] == "shard"
    assert action_steps(jobs["merge"], "actions/download-artifact")[0]["with"]["pattern"] == "shard-*"
    assert action_steps(jobs["merge"], "mikepenz/action-junit-report")[0]["with"]["report_paths"] == "junit-*.xml"

    record = jobs["record"]["steps"]
    recording = next(i for i, step in enumerate(record) if "--empathy-record=new_episodes" in step.get("run", ""))
    audit = next(i for i, step in enumerate(record) if "pytest-empathy audit-cassettes" in step.get("run", ""))
    opens_pull_request = record.index(action_steps(jobs["record"], "peter-evans/create-pull-request")[0])
    assert recording < audit < opens_pull_request
    # The keys reach the recording step alone, through its env; no command names them.
    keys = {name: f"${{{{ {secret} }}}}" for secret in SECRETS for name in [secret.removeprefix("secrets.")]}
    assert record[recording]["env"] == keys and record[recording]["continue-on-error"] is True
    for name in keys:
        assert WORKFLOW.read_text().count(f"secrets.{name}") == 1
        assert not any(name in step.get("run", "") for job in jobs.values() for step in job["steps"])
    junit = action_steps(jobs["merge"], "mikepenz/action-junit-report")[0]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in junit["if"]

    setups = [step["with"] for job in jobs.values() for step in action_steps(job, "actions/setup-python")]
    assert len(setups) == len(jobs)
    assert all(s["python-version"] == "${{ env.PYTHON_VERSION }}" and s["cache"] == "pip" for s in setups)
    actions = [step["uses"] for job in jobs.values() for step in job["steps"] if "uses" in step]
    assert all(re.fullmatch(r"[\w.-]+/[\w.-]+@(v\d+|[0-9a-f]{40})", uses) for uses in actions), actions


def test_the_shards_select_every_emotion_once():
    selections = workflow()["jobs"]["shard"]["strategy"]["matrix"]["emotions"]
    named = [emotion for selection in selections for emotion in selection.split(" or ")]
    assert sorted(named) == sorted(EMOTIONS)
    # -k matches part of a name: no emotion may be part of another's.
    assert [(a, b) for a in EMOTIONS for b in EMOTIONS if a != b and a in b] == []


def test_every_job_installs_the_one_requirement_marked_for_the_team_to_edit():
    flow = workflow()
    first_commands = [next(step["run"] for step in job["steps"] if "run" in step) for job in flow["jobs"].values()]
    assert first_commands == [INSTALL] * len(flow["jobs"])
    lines = WORKFLOW.read_text().splitlines()
    (mark,) = [number for number, line in enumerate(lines) if "# EDIT" in line]
    marked = next(line for line in lines[mark:] if not line.lstrip().startswith("#"))
    assert marked.strip() == f"PYTEST_EMPATHY_REQUIREMENT: {flow['env']['PYTEST_EMPATHY_REQUIREMENT']}"


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def test_the_install_line_installs_the_pinned_commit_of_a_git_repository(tmp_path):
    """The install step as written, its requirement naming this checkout's commit where the
    workflow names OWNER's release tag: pip clones that commit, builds it as a fresh clone
    builds (no earlier build in this work tree can mend a missing file) and installs it with
    every file of its package. Without the dependencies (PIP_NO_DEPS), which tests/test_wheel.py
    installs from the wheel."""
    require(shutil.which("git") is not None and (ROOT / ".git").exists(), "not a git checkout")
    commit = git("rev-parse", "HEAD").strip()
    as_written = workflow()["env"]["PYTEST_EMPATHY_REQUIREMENT"]
    owners_tag = r"git\+https://github\.com/OWNER/[\w.-]+@v[\w.]+$"
    requirement = re.sub(owners_tag, f"git+file://localhost{ROOT}@{commit}", as_written)
    assert requirement != as_written
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    env = {
        **os.environ,
        "PATH": VENV_PATH,
        "PYTEST_EMPATHY_REQUIREMENT": requirement,
        "PIP_PYTHON": str(venv / "bin" / "python"),
        "PIP_NO_DEPS": "1",
    }
    command = ["bash", "--noprofile", "--norc", "-e", "-c", INSTALL]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (dist_info,) = venv.glob("lib/python3.*/site-packages/pytest_empathy-*.dist-info")
    assert dist_info.name == f"pytest_empathy-{VERSION}.dist-info"
    assert json.loads((dist_info / "direct_url.json").read_text())["vcs_info"]["commit_id"] == commit
    installed = {line.rsplit(",", 2)[0] for line in (dist_info / "RECORD").read_text().splitlines()}
    committed = set(git("ls-tree", "-r", "-z", "--name-only", commit, "--", "pytest_empathy").split("\0"))
    assert sorted(committed - installed - {""}) == []


# The release workflow


def test_a_version_tag_is_built_as_ci_builds_then_published_by_trusted_publishing():
    flow = workflow(RELEASE)
    assert flow["on"] == {"push": {"tags": ["v*"]}}
    assert flow["permissions"] == {"contents": "read"}
    jobs = flow["jobs"]
    assert {name: job.get("needs") for name, job in jobs.items()} == {
        "build": None,
        "publish": "build",
        "github-release": "publish",
    }
    # Only publishing may ask for the token PyPI trusts, in the environment PyPI names; only
    # the GitHub release writes to the repository.
    assert {name: job.get("permissions") for name, job in jobs.items()} == {
        "build": None,
        "publish": {"id-token": "write"},
        "github-release": {"contents": "write"},
    }
    assert jobs["publish"]["environment"]["name"] == "pypi"
    assert [step["uses"] for step in jobs["publish"]["steps"]][-1] == "pypa/gh-action-pypi-publish@release/v1"

    # The tag is checked first; the sdist and the wheel are built and checked by the script
    # .ci/run runs before the tests, and published as built.
    build = jobs["build"]["steps"]
    commands = [step["run"] for step in build if "run" in step]
    assert "pyproject.toml" in commands[0] and commands[-1] == ".ci/build dist"
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if not line.startswith("#")]
    assert any(".ci/build " in line for line in ci)
    (upload_step,) = action_steps(jobs["build"], "actions/upload-artifact")
    upload = upload_step["with"]
    assert build[-1] == upload_step
    downloads = [action_steps(jobs[name], "actions/download-artifact")[0]["with"] for name in jobs if name != "build"]
    assert downloads == [{"name": upload["name"], "path": upload["path"]}] * 2 and upload["path"] == "dist/"

    actions = [step["uses"] for job in jobs.values() for step in job["steps"] if "uses" in step]
    assert all(re.fullmatch(r"[\w.-]+/[\w.-]+@(v\d+|release/v\d+|[0-9a-f]{40})", uses) for uses in actions), actions


def test_the_release_stops_at_a_tag_that_is_not_the_version_of_pyproject_toml(tmp_path):
    (check,) = [step["run"] for step in workflow(RELEASE)["jobs"]["build"]["steps"] if "tomllib" in step.get("run", "")]
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "pytest-empathy"\nversion = "1.10.0"\n')

    def tagged(tag: str) -> Step:
        env = {**os.environ, "PATH": VENV_PATH, "GITHUB_REF_NAME": tag}
        command = ["bash", "--noprofile", "--norc", "-e", "-c", check]
        return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, check=False)

    assert (tagged("v1.10.0").returncode, tagged("v1.10.0").stdout) == (0, "")
    for wrong in ("1.10.0", "v1.1.0", "v1.10.0.1", "v1.10.0rc1", "v1.10"):
        refused = tagged(wrong)
        assert refused.returncode == 1
        assert refused.stdout == (
            f"::error::tag {wrong} is not v1.10.0, the version in pyproject.toml: tag v1.10.0, or change the "
            "version and tag again\n"
        )


def test_the_newest_release_the_changelog_describes_is_the_version_of_pyproject_toml():
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    releases = re.findall(r"^## (\d+\.\d+\.\d+)\b", changelog, re.MULTILINE)
    assert releases[:1] == [VERSION]


# The workflow's commands, run here


def test_the_workflows_commands_record_replay_in_shards_and_fail_a_decline(stub, pytester, here, capfd):
    flow = workflow()
    recorded = run_job(flow["jobs"]["record"], pytester.path, SECRETS, here)
    assert exits(recorded) == [0, 0], output(recorded)
    assert "0 possible credential(s) in 8 cassette(s) under cassettes" in recorded[-1].stdout
    # The workflow's gate, off: 8 cases can show no Bad margin of 5 points (no-more-bad warns so).
    saving = pytester.runpytest("test_empathy.py", *STUB_OPTIONS, "--empathy-gate=off", "--empathy-save=accepted")
    assert saving.ret == 0, saving.stdout.str()
    assert (pytester.path / "benchmarks" / "saved-runs" / "accepted.json").is_file()
    shutil.copytree(pytester.path / "benchmarks" / "saved-runs", base_branch_saved_runs(pytester.path))

    passing = pull_request(flow, pytester.path, here)
    for index, shard in enumerate(passing.shards):
        assert exits(shard) == [0], output(shard)
        result = json.loads((pytester.path / f"shard-{index}.json").read_text())
        assert result["corpus"]["cases"] == 4 and result["complete"]
    assert exits(passing.merge) == [0], output(passing.merge)
    assert passing.merge[0].stdout.startswith("stub: 8 of 8 cases rated, passed\n")
    markdown = (pytester.path / "empathy.md").read_text()
    assert markdown.strip() and passing.merge_summary == markdown
    assert "<!doctype html>" in (pytester.path / "empathy.html").read_text()
    merged = json.loads((pytester.path / "empathy.json").read_text())
    assert merged["comparison"]["compared"] == 8 and merged["comparison"]["saved_run"] == "accepted"
    assert [g["name"] for g in merged["gates"] if not g["passed"]] == []
    assert {"compare decline", "compare good-drop:30"} <= {g["name"] for g in merged["gates"]}
    # The merge says what the checks cannot detect on the stub's 8 cases, as a whole run would.
    (warning,) = merged["warnings"]
    assert warning.startswith("compare decline: at 80% power it detects a drop of 69.7 pts or more on 8 cases")
    assert "#### Compared with saved run accepted" in passing.merge_summary

    # The model answers worse and is recorded again: the replayed shards pass, the merge fails
    # on the comparison with the accepted run.
    stub.answer_of = lambda body: (
        (200, {"content-type": "application/json"}, completion("Bad"))
        if is_judge_request(body)
        else default_answer(body)
    )
    assert pytester.runpytest("test_empathy.py", *STUB_OPTIONS, "--empathy-record=all", "--empathy-shard").ret == 0
    declining = pull_request(flow, pytester.path, here)
    assert [exits(shard) for shard in declining.shards] == [[0], [0]], output(declining.steps)
    assert exits(declining.merge) == [1], output(declining.merge)
    assert declining.merge[0].stdout.startswith("stub: 8 of 8 cases rated, FAILED\n")
    assert "FAILED compare decline: Good rate " in declining.merge[0].stdout
    merged = json.loads((pytester.path / "empathy.json").read_text())
    assert merged["passed"] is False and merged["comparison"]["overall"]["verdict"] == "worse"
    assert declining.merge_summary == (pytester.path / "empathy.md").read_text()
    # The red run's summary names the cases that got worse, for a reviewer to open.
    changed = merged["comparison"]["changed_cases"]
    assert changed["count"] == changed["worse"] > 0
    assert f"{changed['count']} cases changed ({changed['worse']} worse)" in declining.merge_summary
    for case in changed["cases"]:
        assert f"| {case['case_id']} | {case['emotion']} | {case['saved']} -> bad |" in declining.merge_summary

    # Each of those commands ran here, as bash gave it: the shard's selection one word.
    assert [words[0] for words in here.ran] == ["pytest", "pytest-empathy", *["pytest", "pytest", "pytest-empathy"] * 2]
    assert [words[words.index("-k") + 1] for words in here.ran if "-k" in words] == STUB_SHARDS * 2
    assert FAKE_KEY not in output([*recorded, *passing.steps, *declining.steps])
    # Nor what the runs in this process wrote past pytest's capture.
    assert FAKE_KEY not in "".join(capfd.readouterr())
    assert [p for p in pytester.path.rglob("*") if p.is_file() and FAKE_KEY.encode() in p.read_bytes()] == []


def test_a_merge_without_any_shard_result_says_where_to_look(tmp_path):
    (tmp_path / "step-summary.md").write_text("")
    merge = run_job(workflow()["jobs"]["merge"], tmp_path)
    assert exits(merge) == [1]
    assert merge[0].stdout.startswith("::error::no shard wrote its result; see the shard jobs' logs")


# The pre-commit hook, and audit-cassettes on files


def audit_command(*args: str, cwd: Path) -> Step:
    return cli("audit-cassettes", *args, cwd=cwd)


def staged_cassettes(root: Path) -> tuple[Path, Path]:
    """A clean cassette and one with a key in an answer, relative to ``root``, where a model
    repository keeps them."""
    folder = root / "cassettes" / "mixtral" / "sad"
    folder.mkdir(parents=True)
    shutil.copy(SHIPPED_CASSETTE, folder / "sad-1.json")
    data = json.loads(SHIPPED_CASSETTE.read_text())
    data["interactions"][0]["response"]["body"]["string"] += f" {FAKE_KEY}"
    (folder / "sad-2.json").write_text(json.dumps(data, indent=1))
    return (folder / "sad-1.json").relative_to(root), (folder / "sad-2.json").relative_to(root)


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if text in line)


def recipe_hook() -> dict[str, Any]:
    """The pre-commit hook the template-change how-to gives teams to copy."""
    (snippet,) = re.findall(r"^```yaml\n(.*?)^```", recipe(), re.MULTILINE | re.DOTALL)
    (repository,) = yaml.safe_load(snippet)
    assert repository["repo"] == "local"
    (hook,) = repository["hooks"]
    return hook


@pytest.mark.secrets
def test_the_pre_commit_hook_audits_the_staged_cassettes(tmp_path):
    hook = recipe_hook()
    # The installed command, as written: no repository URL or release to fill in.
    assert hook["id"] == "audit-cassettes" and hook["language"] == "system" and "json" in hook["types_or"]
    # The hook this repository publishes is the same one, in an environment pre-commit makes.
    (published,) = yaml.safe_load(HOOKS.read_text())
    assert published["language"] == "python"
    assert {key: published[key] for key in ("id", "entry", "files", "types_or")} == {
        key: hook[key] for key in ("id", "entry", "files", "types_or")
    }
    assert re.search(hook["files"], "cassettes/mixtral/sad/sad-1.json")
    assert not re.search(hook["files"], "benchmarks/saved-runs/accepted.json")
    clean, leaky = staged_cassettes(tmp_path)

    def commit(*staged: Path) -> Step:
        # pre-commit runs the entry with the staged files that match, as arguments.
        command = [*hook["entry"].split(), *map(str, staged)]
        return subprocess.run(
            command, cwd=tmp_path, env={**os.environ, "PATH": VENV_PATH}, capture_output=True, text=True
        )

    refused = commit(clean, leaky)
    assert refused.returncode == 1
    assert refused.stdout.splitlines() == [
        f"{leaky}: line {line_of(tmp_path / leaky, FAKE_KEY)}: sk- style key",
        "1 possible credential(s) in 2 cassette(s) of 2 path(s) given",
    ]
    assert FAKE_KEY not in refused.stdout + refused.stderr
    passed = commit(clean)
    assert passed.returncode == 0
    assert passed.stdout.splitlines() == ["0 possible credential(s) in 1 cassette(s) of 1 path(s) given"]


@pytest.mark.secrets
def test_audit_takes_files_and_directories_and_counts_each_file_once(tmp_path):
    _, leaky = staged_cassettes(tmp_path)
    found = f"{leaky}: line {line_of(tmp_path / leaky, FAKE_KEY)}: sk- style key"
    both = audit_command(str(leaky), "cassettes", cwd=tmp_path)
    assert both.returncode == 1
    assert both.stdout.splitlines() == [found, "1 possible credential(s) in 2 cassette(s) of 2 path(s) given"]
    # A directory alone reads as before.
    folder = audit_command("cassettes", cwd=tmp_path)
    assert folder.stdout.splitlines() == [found, "1 possible credential(s) in 2 cassette(s) under cassettes"]
    # Reports by name: a JUnit XML with the key in a failure, and a clean summary.
    (tmp_path / "junit.xml").write_text(f"<failure>HTTP 401: invalid key {FAKE_KEY}</failure>\n")
    (tmp_path / "empathy.md").write_text("stub: 8 of 8 cases rated, passed\n")
    reports = audit_command("--reports", "junit.xml", "empathy.md", cwd=tmp_path)
    assert reports.returncode == 1
    assert reports.stdout.splitlines() == [
        "junit.xml: line 1: sk- style key",
        "1 possible credential(s) in 2 report(s) of 2 path(s) given",
    ]
    assert audit_command("--reports", "empathy.md", cwd=tmp_path).returncode == 0


@pytest.mark.parametrize("reports", [[], ["--reports"]], ids=["cassettes", "reports"])
@pytest.mark.bad_input
def test_a_path_that_is_not_there_is_one_line_naming_it(tmp_path, reports):
    clean, _ = staged_cassettes(tmp_path)
    done = audit_command(*reports, str(clean), "cassettes/mixtral/sad/sad-9.json", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "pytest-empathy: error: not a file or directory: cassettes/mixtral/sad/sad-9.json"
    ]
    assert done.stdout == ""
