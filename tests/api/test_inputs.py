"""Article inputs and the command line's contract: exact offsets for the file's own text, clear errors for text
that is not UTF-8 or not valid Unicode, the folder rules, one bad file failing alone, arguments checked before a
model loads, and the exit codes."""

from __future__ import annotations

import codecs
import json
import re
import subprocess
import sys

import pytest

from conflict_ie.api import cli
from conflict_ie.api.inputs import InputError, decode_article, read_articles
from conflict_ie.api.predictor import Predictor

from ..conftest import REPO_ROOT, SEEDS

ARTICLE = ("A drone strike killed two fighters in Marib on Saturday, officials said.\r\n\r\n"
           "Residents said the strike hit a house in the Harib district.\r\n")


def _cli(*args, stdin: bytes | None = None):
    return subprocess.run([sys.executable, "-m", "conflict_ie", *args], input=stdin, capture_output=True,
                          cwd=REPO_ROOT, timeout=300)


def test_a_crlf_file_keeps_its_line_endings_so_offsets_index_its_own_text(tmp_path):
    path = tmp_path / "crlf.txt"
    path.write_bytes(codecs.BOM_UTF8 + ARTICLE.encode("utf-8"))
    ((name, text),) = read_articles([path]).texts
    assert name == str(path)
    assert text == ARTICLE == open(path, encoding="utf-8-sig", newline="").read()


def test_predicted_offsets_index_the_crlf_file_as_read_by_path(tiny_model_dir, tmp_path):
    path = tmp_path / "crlf.txt"
    path.write_bytes((SEEDS[0].read_text(encoding="utf-8").replace("\n", "\r\n")).encode("utf-8"))
    out = _cli("predict", str(path), "--model", str(tiny_model_dir), "--format", "jsonl")
    assert out.returncode == 0, out.stderr.decode()
    (record,) = [json.loads(line) for line in out.stdout.decode("utf-8").splitlines()]
    text = open(path, encoding="utf-8-sig", newline="").read()
    assert record["text"]["characters"] == len(text)  # which text the offsets index
    spans = record["entities"] + record["triggers"]
    assert spans and all(text[s["start"]:s["end"]] == s["text"] for s in spans)


@pytest.mark.parametrize("encoding, bom, named", [
    ("utf-16-le", codecs.BOM_UTF16_LE, "UTF-16 (little-endian)"),
    ("utf-16-be", codecs.BOM_UTF16_BE, "UTF-16 (big-endian)"),
    ("utf-32-le", codecs.BOM_UTF32_LE, "UTF-32 (little-endian)"),
])
def test_utf16_and_utf32_files_are_named_for_what_they_are(encoding, bom, named):
    with pytest.raises(InputError, match=rf"a\.txt is {re.escape(named)} text .*not UTF-8"):
        decode_article(bom + ARTICLE.encode(encoding), "a.txt")


def test_invalid_utf8_names_the_byte_offset():
    with pytest.raises(InputError, match=r"a\.txt is not UTF-8 text: invalid byte 0xff at byte offset 6"):
        decode_article(b"Marib \xff strike", "a.txt")
    with pytest.raises(InputError, match="looks binary"):
        decode_article(b"PK\x03\x04\x00\x00", "a.txt")


def test_invalid_utf8_on_standard_input_is_an_input_error_not_a_traceback(tmp_path):
    out = _cli("predict", "-", "--model", str(tmp_path / "no-model"), stdin=b"A strike in Marib \xc3\x28 today")
    assert out.returncode == cli.EXIT_INPUT
    err = out.stderr.decode()
    assert "standard input is not UTF-8 text: invalid byte 0xc3 at byte offset 18" in err
    assert "Traceback" not in err and "no-model" not in err  # refused before any model is looked for


def test_a_lone_surrogate_is_refused_with_its_offset(tiny_model_dir):
    predictor = Predictor.load(tiny_model_dir)
    with pytest.raises(ValueError, match=r"text 1 holds a lone surrogate U\+D800 at character offset 6"):
        predictor.predict(["fine", "Marib \ud800 strike"])
    with pytest.raises(ValueError, match="lone surrogate U\\+DC80"):
        predictor.predict_article(b"caf\xff".decode("utf-8", errors="surrogateescape").replace("\udcff", "\udc80"))


def _folder(tmp_path):
    folder = tmp_path / "articles"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("A strike hit Marib.", encoding="utf-8")
    (folder / "B.TXT").write_text("Shelling hit Idlib.", encoding="utf-8")
    (folder / ".hidden.txt").write_text("hidden", encoding="utf-8")
    (folder / "notes.md").write_text("notes", encoding="utf-8")
    (folder / "sub" / "c.txt").write_text("not read", encoding="utf-8")
    (folder / "z.txt").write_bytes("Strike".encode("utf-16"))
    return folder


def test_a_folder_reads_txt_in_any_case_and_lists_every_entry_skipped_or_failed(tmp_path):
    folder = _folder(tmp_path)
    files = read_articles([folder])
    assert [name for name, _ in files.texts] == [str(folder / "B.TXT"), str(folder / "a.txt")]
    assert dict(files.skipped) == {str(folder / ".hidden.txt"): "hidden",
                                   str(folder / "notes.md"): "not a .txt file",
                                   str(folder / "sub"): "a folder (folders are not read recursively)"}
    ((failed, reason),) = files.failed
    assert failed == str(folder / "z.txt") and "UTF-16" in reason
    with pytest.raises(InputError, match=r"z\.txt is UTF-16"):
        read_articles([folder], strict=True)


def test_one_bad_file_fails_alone_and_strict_mode_stops_before_the_model(tiny_model_dir, tmp_path):
    folder = _folder(tmp_path)
    out = _cli("predict", str(folder), "--model", str(tiny_model_dir), "--format", "jsonl")
    assert out.returncode == cli.EXIT_INPUT
    assert [json.loads(line)["source"] for line in out.stdout.decode().splitlines()] == [
        str(folder / "B.TXT"), str(folder / "a.txt")]
    err = out.stderr.decode()
    for line in (f"skipped {folder / '.hidden.txt'}: hidden", f"skipped {folder / 'notes.md'}: not a .txt file",
                 f"FAILED {folder / 'z.txt'}:", "1 input(s) FAILED"):
        assert line in err
    strict = _cli("predict", str(folder), "--strict", "--model", str(tmp_path / "no-model"))
    assert strict.returncode == cli.EXIT_INPUT and "z.txt is UTF-16" in strict.stderr.decode()
    assert "no-model" not in strict.stderr.decode() and not strict.stdout


@pytest.mark.parametrize("args, message", [
    (["--publication-date", "notadate"], "'notadate' is not an ISO date"),
    (["--out", "/no/such/folder/out.csv"], "the folder of /no/such/folder/out.csv"),
    (["-", "seeds/"], "'-' (standard input) cannot be mixed"),
])
def test_argument_errors_come_before_the_model_loads(tmp_path, args, message):
    out = _cli("predict", *args, "--model", str(tmp_path / "no-model"), stdin=b"text")
    assert out.returncode == cli.EXIT_USAGE, out.stderr.decode()
    assert message in out.stderr.decode() and "no-model" not in out.stderr.decode()


def test_exit_codes_and_version(tmp_path, capsys, monkeypatch):
    from conflict_ie import __version__

    with pytest.raises(SystemExit) as stopped:
        cli.main(["--version"])
    assert stopped.value.code == 0 and __version__ in capsys.readouterr().out
    assert cli.main(["predict", str(tmp_path / "missing.txt")]) == cli.EXIT_INPUT
    assert "missing.txt: does not exist" in capsys.readouterr().err

    def broken(args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli, "_labeling_config", broken)
    assert cli.main(["labeling-config"]) == cli.EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "RuntimeError: a bug" in err and "internal error" in err


def test_help_lists_only_commands_that_exist(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    listed = capsys.readouterr().out
    commands = cli.parser()._subparsers._group_actions[0].choices
    for name in commands:
        assert f"    {name}" in listed
        with pytest.raises(SystemExit) as stopped:
            cli.main([name, "--help"])
        assert stopped.value.code == 0
    section = listed.split("positional arguments:")[1].split("options:")[0]
    assert set(re.findall(r"(?m)^    (\S+)", section)) == set(commands)

