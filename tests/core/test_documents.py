"""One schema for the documents the Lua scripts write and Python reads (issue 24 §3).

core/documents.py names every stored key of every document. These tests read each .lua
script of live/ for the keys it writes into a document (`c.fn = ...`, `p = {call_sid = ...}`,
`table.insert(set, 'st')`, ...), through the Lua variables the schema says hold that
document in that script, and fail on a key the schema does not name, and on a schema key
no script writes. And the decoding gives every stored key its readable name.
"""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from core.documents import (
    CONFERENCE,
    PARTICIPANT,
    SCHEMA,
    Document,
    conference_of,
    monitor_of,
    worker_of,
)

LIVE = Path(__file__).resolve().parents[2] / "live"
SCRIPTS = sorted(LIVE.glob("*.lua"))
# Fields of one document: plain Lua identifiers in a table constructor or after a dot.
KEY = r"([a-z_][a-z0-9_]*)"


def _constructor_keys(body: str) -> set[str]:
    """The `k = ...` keys at the top level of a table constructor's body."""
    depth, top = 0, []
    for ch in body:
        if ch in "{([":
            depth += 1
        elif ch in "})]":
            depth -= 1
        elif depth == 0:
            top.append(ch)
            continue
        top.append(" ")
    return set(re.findall(r"(?:^|[,;\s])" + KEY + r"\s*=(?!=)", "".join(top)))


def _tables(text: str, start: int) -> str:
    """The body of the table constructor whose `{` is at `start`."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i]
    raise AssertionError("unbalanced table constructor")


def _function_body(text: str, name: str) -> str:
    start = text.index(f"local function {name}(")
    following = text.find("\nlocal function ", start + 1)
    return text[start : following if following != -1 else len(text)]


def written_keys(text: str, variable: str) -> set[str]:
    """The keys a script writes into the document held by `variable` (a Lua expression,
    as a regular expression), or for a hash, by the function named so (HSET field lists)."""
    if re.fullmatch(r"apply_\w+", variable):
        body = _function_body(text, variable)
        return set(re.findall(r"table\.insert\(set, '" + KEY + r"'\)", body)) | set(
            re.findall(r"'HSET', key, '" + KEY + "'", body)
        )
    code = "\n".join(line.split("--", 1)[0] for line in text.splitlines())
    if variable.startswith("HSET "):
        fields: set[str] = set()
        for found in re.finditer(r"'HSET', " + variable[5:] + r", ([^\n]*)\)", code):
            fields |= set(re.findall(r"'" + KEY + r"'", found.group(1)))
        return fields
    target = r"(?<![\w.])" + variable
    keys = set(re.findall(target + r"\." + KEY + r"\s*=(?!=)", code))
    # a constructor assigned to it, or appended to it
    for pattern in (target + r"\s*=\s*\{", r"table\.insert\(" + target + r",\s*\{"):
        for found in re.finditer(pattern, code):
            keys |= _constructor_keys(_tables(code, found.end() - 1))
    return keys


def test_every_written_key_is_in_the_schema() -> None:
    unknown = []
    for document in SCHEMA:
        stored = {f.stored for f in document.fields}
        for script, variables in document.writers.items():
            text = (LIVE / script).read_text(encoding="utf-8")
            for variable in variables:
                for key in sorted(written_keys(text, variable) - stored):
                    unknown.append(f"{script} writes {document.name}.{key} ({variable}.{key})")
    assert not unknown, "keys core/documents.py does not name:\n" + "\n".join(unknown)


def test_every_schema_key_is_written_somewhere() -> None:
    never = []
    for document in SCHEMA:
        written: set[str] = set()
        for script, variables in document.writers.items():
            text = (LIVE / script).read_text(encoding="utf-8")
            for variable in variables:
                written |= written_keys(text, variable)
        never += [f"{document.name}.{f.stored}" for f in document.fields if f.stored not in written]
    assert not never, "schema keys no script writes: " + ", ".join(never)


def test_every_script_that_stores_a_json_document_is_a_conference_writer() -> None:
    """A new script that SETs a document (the conference is the one JSON document) must be
    named in the schema, or its keys would go unchecked."""
    setters = {
        path.name for path in SCRIPTS if "redis.call('SET'," in path.read_text(encoding="utf-8")
    }
    assert setters and setters <= set(CONFERENCE.writers)


def test_every_writer_is_a_script_that_exists() -> None:
    names = {path.name for path in SCRIPTS}
    for document in SCHEMA:
        assert set(document.writers) <= names, document.name


def test_the_parser_finds_what_it_must() -> None:
    """The reader of scripts is itself checked: it finds a write of each form, so the tests
    above cannot pass by finding nothing."""
    apply = (LIVE / "apply.lua").read_text(encoding="utf-8")
    assert {"sid", "fn", "status", "seq", "p", "mon", "ended", "end_seq"} <= written_keys(
        apply, "c"
    )
    assert {"ps", "fs", "ss", "js", "hu", "ht", "eoe", "coach"} <= written_keys(apply, "p")
    assert "xx" in written_keys("c.xx = 1", "c")
    assert {"a", "b"} == written_keys("c = {a = 1, b = {z = 2}}", "c")
    assert {"k"} == written_keys("table.insert(c.ph, {k = 1})", r"c\.ph")
    assert "nope" not in written_keys("c.nope == 1", "c")
    assert "x" not in written_keys("-- c.x = 1", "c")


@pytest.mark.parametrize("document", SCHEMA, ids=lambda d: d.name)
def test_names_are_one_to_one(document: Document) -> None:
    stored = [f.stored for f in document.fields]
    names = [f.name for f in document.fields]
    assert len(set(stored)) == len(stored) and len(set(names)) == len(names)


def test_a_stored_conference_reads_by_readable_names() -> None:
    stored = orjson.loads(
        b'{"sid":"CF1","fn":"WT1","status":"in-progress","seq":7,"started":1000,'
        b'"updated":2000,"p":{"CA1":{"call_sid":"CA1","label":"customer","present":true,'
        b'"ps":3,"fs":4,"ss":5,"js":2,"hu":0,"ht":{},"joined":1000,"speech_at":1500,'
        b'"talk":20,"hold_total":0,"coach":"","eoe":false}},'
        b'"mon":{"ana":{"supervisor":"ana","conference_sid":"CF1","call_sid":"","mode":"listen",'
        b'"since":1200,"status":"dialing"}},"help":{"agent":"bob","call_sid":"CA2","at":1300},'
        b'"cards":[{"supervisor":"ana","text":"hi","at":1400}],"task":"WT1",'
        b'"tx":{"st":"on","gt":"GT1","lang":"ja-JP","last":{"s":"agent","t":"x","at":1900}},'
        b'"ph":[{"p":"cancel","s":"customer","t":"cancel it","at":1800}],'
        b'"phm":{"cancel":{"by":"ana","at":1850}}}'
    )
    c = conference_of(stored)
    assert (c["friendly_name"], c["last_seq"], c["started"], c["task_sid"]) == (
        "WT1",
        7,
        1000,
        "WT1",
    )
    p = c["participants"]["CA1"]
    assert (p["presence_seq"], p["flags_seq"], p["speech_seq"], p["join_seq"]) == (3, 4, 5, 2)
    assert (p["joined"], p["speech_at"], p["talk"], p["end_on_exit"]) == (
        1000,
        1500,
        20,
        False,
    )
    assert c["monitors"]["ana"]["since"] == 1200
    assert c.get("help") == {"agent": "bob", "call_sid": "CA2", "at": 1300}
    assert c["cards"][0]["at"] == 1400
    assert c["transcript"]["state"] == "on" and c["transcript"]["language"] == "ja-JP"
    assert c["transcript"]["last_line"] == {"speaker": "agent", "text": "x", "at": 1900}
    assert c["phrases_heard"][0]["phrase"] == "cancel"
    assert c["phrases_muted"]["cancel"] == {"by": "ana", "at": 1850}
    # Every stored key of the conference and participant was renamed (none left short).
    short = {f.stored for f in CONFERENCE.fields if f.stored != f.name}
    assert not short & set(c)
    short = {f.stored for f in PARTICIPANT.fields if f.stored != f.name}
    assert not short & set(p)
    # The stored document is left as it was: it travels on (the feed, the board).
    assert "p" in stored and "participants" not in stored


def test_a_new_conference_without_parts_decodes() -> None:
    c = conference_of({"sid": "CF1", "fn": "", "status": "init", "seq": 0, "p": {}, "mon": {}})
    assert c["participants"] == {} and c["monitors"] == {} and "help" not in c


def test_a_document_that_is_not_one_raises() -> None:
    with pytest.raises((AttributeError, TypeError)):
        conference_of({"sid": "CF1", "p": "not a table"})


def test_monitor_and_worker() -> None:
    assert (
        monitor_of({"supervisor": "a", "conference_sid": "CF", "mode": "listen", "since": 5})[
            "since"
        ]
        == 5
    )
    w = worker_of("WK1", {"act": "Available", "phase": "none", "task": "", "since": "9"})
    assert w == {"sid": "WK1", "activity": "Available", "phase": "none", "task_sid": "",
                 "activity_since_ms": "9"}  # fmt: skip
