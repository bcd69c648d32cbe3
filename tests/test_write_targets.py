"""Where a run and the commands write and delete, tried as an attacker would: links out of
the cassette tree, outputs that are inputs, a disk that fills up under a recording or an
export."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from pytest_empathy.cassettes.lock import RecordingLock
from pytest_empathy.cassettes.pruning import prune
from pytest_empathy.cassettes.replayer import Replayer
from pytest_empathy.write_targets import OutsideRoot, confined

from .conftest import XDIST_MODES, cli, read_report, require, run, stub_cassette, synthetic_rows, write_corpus
from .test_crowd import crowd, crowd_answers, export, write_answers

PAGE = 4096
EMOTIONS = ("afraid", "caring", "joyful", "sad")


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder``, by its path relative to it, with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# Links out of the cassette tree


@pytest.fixture
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder outside the project, holding a file a link will lead to."""
    folder = tmp_path_factory.mktemp("outside")
    (folder / "keep.json").write_text("not the run's to touch\n")
    return folder


@pytest.mark.fault
@pytest.mark.parametrize("linked", ["emotion folder", "cassette file"])
def test_a_recording_writes_no_cassette_through_a_link_leading_out(stub, pytester, outside, linked):
    assert run(pytester, "--empathy-record=once").ret == 0
    cassette = stub_cassette(pytester, "sad-sad0")
    if linked == "emotion folder":
        shutil.move(cassette.parent, outside / "sad")
        cassette.parent.symlink_to(outside / "sad")
        link, refused = cassette.parent, ["sad-sad0", "sad-sad1"]
    else:
        shutil.move(cassette, outside / "sad-sad0.json")
        cassette.symlink_to(outside / "sad-sad0.json")
        link, refused = cassette, ["sad-sad0"]
    before, calls = tree(outside), len(stub.requests)
    result = run(pytester, "--empathy-record=all", "-p", "no:randomly")
    assert result.ret == 1
    result.assert_outcomes(passed=8 - len(refused), failed=len(refused))
    for case in refused:
        cassette = stub_cassette(pytester, case)
        result.stdout.fnmatch_lines(
            [f"*cassette {cassette} is refused: it leads outside * (through the link {link} -> *"]
        )
    assert tree(outside) == before and link.is_symlink()
    # The refused cases made no call: their answers could not have been kept.
    assert len(stub.requests) - calls == 2 * (8 - len(refused))


@pytest.mark.fault
def test_a_model_folder_linked_out_of_the_cassettes_is_a_usage_error(stub, pytester, outside):
    (pytester.path / "cassettes").mkdir()
    (pytester.path / "cassettes" / "stub").symlink_to(outside)
    result = run(pytester, "--empathy-record=once")
    assert result.ret == 4
    refusal = f"the cassette folder of 'stub' * leads outside * (through the link * -> {outside})"
    result.stderr.fnmatch_lines([f"ERROR: --empathy-cassettes: {refusal}"])
    assert tree(outside) == {"keep.json": b"not the run's to touch\n"} and not stub.requests


@pytest.mark.fault
def test_a_cassette_root_that_is_itself_a_link_is_the_user_s_choice(stub, pytester, outside):
    (pytester.path / "elsewhere").symlink_to(outside)
    assert run(pytester, "--empathy-record=once", "--empathy-cassettes=elsewhere").ret == 0
    assert len(list((outside / "stub").rglob("*.json"))) == 8


@pytest.mark.fault
def test_pruning_deletes_nothing_through_a_link_leading_out(stub, pytester, outside):
    assert run(pytester, "--empathy-record=once").ret == 0
    folder = stub_cassette(pytester, "sad-sad0").parent
    shutil.move(folder, outside / "sad")
    folder.symlink_to(outside / "sad")
    # Recorded like the run's own, for a case it no longer has: unused, were it inside the tree.
    shutil.copy(outside / "sad" / "sad-sad0.json", outside / "sad" / "sad-gone.json")
    before = tree(outside)
    result = run(pytester, "--empathy-prune-cassettes")
    assert result.ret == 0, result.stdout.str()
    assert tree(outside) == before
    assert read_report(pytester)["unused_cassettes"]["count"] == 0


@pytest.mark.fault
def test_a_folder_swapped_for_a_link_after_the_listing_stops_the_deletion(tmp_path, outside):
    cassettes = Replayer(tmp_path / "cassettes", "model")
    folder = tmp_path / "cassettes" / "model" / "sad"
    folder.mkdir(parents=True)
    (folder / "keep.json").write_text("listed as unused\n")
    listed = [folder / "keep.json"]
    folder.rename(tmp_path / "moved")
    folder.symlink_to(outside)
    refused = prune(cassettes, listed)
    assert len(refused) == 1 and refused[0].startswith(f"unused cassette {folder / 'keep.json'} not deleted")
    assert (outside / "keep.json").read_text() == "not the run's to touch\n"
    folder.unlink()
    (tmp_path / "moved").rename(folder)
    assert prune(cassettes, listed) == [] and not (folder / "keep.json").exists()


@pytest.mark.fault
def test_the_recording_lock_is_never_written_through_a_link(tmp_path, outside):
    folder = tmp_path / "cassettes" / "model"
    folder.mkdir(parents=True)
    (folder / ".recording.lock").symlink_to(outside / "keep.json")
    from pytest_empathy.cassettes.format import CassetteError

    with pytest.raises(CassetteError, match=r"\.recording\.lock is a link, and the recording lock is never written"):
        RecordingLock(folder).acquire()
    assert (outside / "keep.json").read_text() == "not the run's to touch\n"


@pytest.mark.bad_input
@pytest.mark.parametrize("name", ["../up.json", "sub/../../up.json", "link/up.json"])
def test_a_path_leading_out_through_dotdot_or_a_link_is_named(tmp_path, outside, name):
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(outside)
    with pytest.raises(OutsideRoot, match=r"through (the link .*link -> |'\.\.' in )"):
        confined(root / name, root, "file")
    assert confined(root / "sub" / ".." / "in.json", root, "file") == root / "sub" / ".." / "in.json"


@pytest.mark.bad_input
def test_a_link_that_loops_is_refused_in_one_line(tmp_path):
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    with pytest.raises(OutsideRoot, match=r"loop/x\.json is refused: a link on its way leads back to itself"):
        confined(tmp_path / "loop" / "x.json", tmp_path, "cassette")


@pytest.mark.bad_input
@pytest.mark.parametrize("what", ["saved run", "calibration"])
def test_a_saved_run_or_calibration_file_linked_out_is_refused_before_any_case(stub, pytester, outside, what):
    if what == "saved run":
        folder, args = pytester.path / "benchmarks" / "saved-runs", ["--empathy-save=x", "--empathy-save-force"]
        flag = "--empathy-save"
    else:
        folder, args = pytester.path / "benchmarks" / "calibrations", ["--empathy-calibrate"]
        flag = "--empathy-calibration"
    folder.mkdir(parents=True)
    (folder / f"{'x' if what == 'saved run' else 'stub'}.json").symlink_to(outside / "keep.json")
    if what == "saved run":
        result = run(pytester, "--empathy-record=once", *args)
    else:
        result = pytester.runpytest(
            "--empathy-judge=stub", "--empathy-corpus=corpus.csv", "--empathy-record=once", *args
        )
    assert result.ret == 4
    result.stderr.fnmatch_lines([f"ERROR: {flag}: * is refused: it leads outside {folder} (through the link *"])
    assert (outside / "keep.json").read_text() == "not the run's to touch\n" and not stub.requests


# A disk that fills up while recording


@contextmanager
def small_disk(folder: Path, pages: int) -> Iterator[Path]:
    """``folder`` on a tmpfs of 64 KiB, filled but for ``pages`` free pages of 4 KiB: a
    write that needs more fails with ENOSPC, as on a full disk."""
    folder.mkdir(exist_ok=True)
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], check=True, capture_output=True
        )
    except (OSError, subprocess.CalledProcessError) as error:
        require(False, f"a small tmpfs could not be mounted ({error}): the test needs root")
    try:
        leave_free(folder, pages)
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def leave_free(folder: Path, pages: int) -> None:
    """Fill the disk of ``folder`` with a file ``filler``, but for ``pages`` pages."""
    with open(folder / "filler", "ab", buffering=0) as filler:
        try:
            while True:
                filler.write(b"\0" * PAGE)
        except OSError as error:
            assert error.errno == errno.ENOSPC
        os.ftruncate(filler.fileno(), max(0, (os.fstat(filler.fileno()).st_size // PAGE - pages) * PAGE))


def pages(data: bytes) -> int:
    return -(-len(data) // PAGE)


@pytest.mark.fault
@pytest.mark.parametrize(
    ("mode", "concurrency", "processes"),
    [("no-xdist", 1, 1), ("n0", 1, 1), ("n2", 1, 2), ("no-xdist", 3, 1), ("n2", 2, 2)],
)
def test_after_a_cassette_could_not_be_written_no_more_calls_are_made(stub, pytester, mode, concurrency, processes):
    cases = 24
    write_corpus(pytester.path / "corpus.csv", synthetic_rows(per_emotion=cases // 4, emotions=EMOTIONS))
    # One page left: the recording lock's; no cassette fits.
    with small_disk(pytester.path / "cassettes", pages=1) as cassettes:
        result = run(pytester, "--empathy-record=once", f"--empathy-concurrency={concurrency}", *XDIST_MODES[mode])
        assert sorted(p.name for p in cassettes.rglob("*") if p.is_file()) == ["filler"]
    assert result.ret == 1
    result.assert_outcomes(failed=cases)
    output = result.stdout.str()
    assert "No space left on device" in output and "Traceback" not in output and "INTERNALERROR" not in output
    # Each process pays for the cases it had under way when its first write failed, no more:
    # two calls a case, 2 x concurrency cases at once.
    started = processes * (1 if concurrency == 1 else 2 * concurrency)
    assert 2 <= len(stub.requests) <= 2 * started < 2 * cases
    refused = output.count("not called: a cassette could not be written, so no answer of this run could be kept")
    assert refused >= cases - started


# No command writes over its inputs


@pytest.fixture
def result_files(stub, pytester) -> Path:
    """Two shards' JSON results (a.json, b.json) and a saved run (saved.json) of the stub."""
    for name, selection in (("a", "sad"), ("b", "not sad")):
        assert (
            run(
                pytester, "--empathy-record=once", "--empathy-shard", f"--empathy-report={name}.json", "-k", selection
            ).ret
            == 0
        )
    shutil.copy(pytester.path / "a.json", pytester.path / "saved.json")
    os.link(pytester.path / "a.json", pytester.path / "hard-a.json")
    return pytester.path


@pytest.mark.bad_input
@pytest.mark.parametrize(
    ("args", "refusal"),
    [
        (["report", "a.json", "--markdown", "a.json"], "--markdown a.json is the same file as the input a.json"),
        (["report", "a.json", "--html", "sub/../a.json"], "--html sub/../a.json is the same file as the input a.json"),
        (["report", "a.json", "--csv", "hard-a.json"], "--csv hard-a.json is the same file as the input a.json"),
        (["report", "a.json", "--html", "r.out", "--csv", "r.out"], "--csv r.out is the same file as --html r.out"),
        (["merge", "a.json", "b.json", "-o", "b.json"], "-o b.json is the same file as the input b.json"),
        (["merge", "a.json", "b.json", "-o", "m.json", "--compare", "m.json"], "-o m.json is the same file as"),
        (["merge", "a.json", "b.json", "-o", "m.json", "--html", "a.json"], "--html a.json is the same file as"),
        (["merge", "a.json", "b.json", "-o", "m.json", "--markdown", "hard-a.json"], "--markdown hard-a.json is"),
    ],
)
def test_no_command_writes_over_one_of_its_inputs(result_files, args, refusal):
    (result_files / "sub").mkdir()
    (result_files / "m.json").write_text('{"kind": "not a result"}')
    before = tree(result_files)
    done = cli(*args, cwd=result_files)
    assert done.returncode == 2
    assert done.stderr.startswith(f"pytest-empathy: error: {refusal}") and done.stderr.count("\n") == 1
    assert tree(result_files) == before


@pytest.mark.bad_input
@pytest.mark.parametrize(
    ("option", "refusal"),
    [
        (
            "--empathy-report=corpus.csv",
            "--empathy-report *corpus.csv is the same file as the input * (--empathy-corpus)*",
        ),
        (
            "--empathy-html=pyproject.toml",
            "--empathy-html *pyproject.toml is the same file as the input *(the model profiles)*",
        ),
        (
            "--empathy-csv=benchmarks/saved-runs/x.json",
            "--empathy-csv * is the same file as the input * (--empathy-compare)*",
        ),
        ("--empathy-markdown=report.json", "--empathy-markdown *report.json is the same file as --empathy-report *"),
    ],
)
def test_a_run_writes_no_report_over_a_file_it_reads(stub, pytester, option, refusal):
    assert run(pytester, "--empathy-record=once", "--empathy-save=x").ret == 0
    read = ["corpus.csv", "pyproject.toml", "benchmarks/saved-runs/x.json", "report.json"]
    before = {name: (pytester.path / name).read_bytes() for name in read}
    calls = len(stub.requests)
    result = run(pytester, "--empathy-compare=x", option)
    assert result.ret == 4
    result.stderr.fnmatch_lines([f"ERROR: {refusal}"])
    assert {name: (pytester.path / name).read_bytes() for name in read} == before and len(stub.requests) == calls


@pytest.mark.bad_input
@pytest.mark.parametrize("output", ["sheets/manifest.json", "ratings.csv", "hard-manifest.json"])
def test_crowd_import_writes_over_neither_the_manifest_nor_the_ratings(tmp_path, output):
    write_corpus(tmp_path / "corpus.csv", synthetic_rows(per_emotion=2, emotions=("sad", "joyful")))
    assert export(tmp_path).returncode == 0
    (tmp_path / "ratings.csv").write_text("item,rater,rating\n")
    os.link(tmp_path / "sheets" / "manifest.json", tmp_path / "hard-manifest.json")
    before = tree(tmp_path)
    done = crowd("import", "ratings.csv", "--manifest", "sheets/manifest.json", "-o", output, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"pytest-empathy: error: -o {output} is the same file as the input")
    assert tree(tmp_path) == before


@pytest.mark.bad_input
def test_crowd_export_writes_over_none_of_its_inputs(tmp_path):
    (tmp_path / "sheets").mkdir()
    write_corpus(tmp_path / "sheets" / "sheet.csv", synthetic_rows(per_emotion=2, emotions=("sad", "joyful")))
    before = tree(tmp_path)
    done = crowd("export", "--corpus", "sheets/sheet.csv", "--responder", "bot", "-o", "sheets", cwd=tmp_path)
    assert done.returncode == 2
    assert "-o sheets/sheet.csv is the same file as the input sheets/sheet.csv (--corpus)" in done.stderr
    assert tree(tmp_path) == before


# An export onto a disk that fills up


# A few batch files of 10, which the small disk holds once but not twice.
FEW_BATCHES = ("--per-batch", "--batch-size", "10")


@pytest.mark.fault
def test_an_export_onto_a_full_disk_writes_every_file_or_none(tmp_path):
    write_corpus(tmp_path / "corpus.csv", synthetic_rows(per_emotion=12, emotions=("sad", "joyful")))
    # The export that will not fit, made elsewhere first to know its files' sizes.
    assert export(tmp_path, *FEW_BATCHES, out="sized").returncode == 0
    new = tree(tmp_path / "sized")
    with small_disk(tmp_path / "sheets", pages=0) as sheets:
        (sheets / "filler").unlink()
        assert export(tmp_path, *FEW_BATCHES, "--sample", "1").returncode == 0
        old = tree(sheets)
        # Room for the new sheet.csv, and once it replaced the old one, not for the new
        # manifest.json: a writer of one file at a time leaves the new sheet beside the old manifest.
        assert pages(old["sheet.csv"]) < pages(new["manifest.json"])
        leave_free(sheets, pages(new["sheet.csv"]))
        done = export(tmp_path, *FEW_BATCHES)
        assert done.returncode == 2
        assert "No space left on device" in done.stderr and done.stderr.count("\n") == 1
        assert "what was there is unchanged" in done.stderr
        (sheets / "filler").unlink()
        assert tree(sheets) == old
        assert export(tmp_path, *FEW_BATCHES).returncode == 0 and tree(sheets) == new


@pytest.mark.fault
def test_an_import_onto_a_full_disk_says_so_in_one_line_and_keeps_the_earlier_ratings(tmp_path):
    write_corpus(tmp_path / "corpus.csv", synthetic_rows(per_emotion=12, emotions=("sad", "joyful")))
    assert export(tmp_path).returncode == 0
    write_answers(tmp_path / "answers.csv", crowd_answers(tmp_path, failing=1, skipping=2)[0])
    with small_disk(tmp_path / "ratings", pages=0) as folder:
        (folder / "filler").unlink()
        args = ("import", "answers.csv", "--manifest", "sheets/manifest.json", "-o", "ratings/ratings.csv")
        assert crowd(*args, cwd=tmp_path).returncode == 0
        earlier = tree(folder)
        leave_free(folder, 0)
        done = crowd(*args, cwd=tmp_path)
        assert done.returncode == 2
        assert done.stderr == (
            "pytest-empathy: error: the ratings could not be written: cannot write ratings/ratings.csv (No space "
            "left on device); what was there is unchanged\n"
        )
        (folder / "filler").unlink()
        assert tree(folder) == earlier
