"""Pure transcript import: decoding, formats, speaker turns (coding.importing)."""

from __future__ import annotations

import codecs
import zipfile
from collections import Counter

import docx
import pytest
from docx.oxml import parse_xml

from coding.errors import CodingError, InputFileError
from coding.importing import (
    MAX_FILE_BYTES,
    SUPPORTED_SUFFIXES,
    ParsedTranscript,
    Turn,
    decode_bytes,
    detect_turns,
    parse_transcript,
)
from coding.importing import decoding, limits

SPANISH = "Entrevistadora: Año, señora, ¿qué?\nDocente: Sí, el niño… “bien”.\n"


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def parse_file(path, **kwargs) -> ParsedTranscript:
    return parse_transcript(path.name, path.read_bytes(), **kwargs)


def check_turn_invariants(parsed: ParsedTranscript) -> None:
    """Every turn fits the text, starts and ends on a non-blank char, in order."""
    text = parsed.text
    previous_end = 0
    for turn in parsed.turns:
        assert previous_end <= turn.start <= turn.speech_start <= turn.end <= len(text)
        assert not text[turn.start].isspace()
        assert not text[turn.end - 1].isspace()
        previous_end = turn.end


def speeches(parsed_or_text, turns=None) -> list[tuple[str, str]]:
    if isinstance(parsed_or_text, ParsedTranscript):
        text, turns = parsed_or_text.text, parsed_or_text.turns
    else:
        text = parsed_or_text
    return [(t.speaker, text[t.speech_start:t.end]) for t in turns]


def error_of(excinfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message, "an error message is one line"
    return message


# --- public constants -------------------------------------------------------------------

def test_documented_limits():
    assert MAX_FILE_BYTES == 20 * 1024 * 1024
    assert SUPPORTED_SUFFIXES == (".txt", ".md", ".docx", ".vtt", ".srt")


# --- decoding -------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        (SPANISH.encode("utf-8"), "utf-8"),
        (SPANISH.encode("utf-8-sig"), "utf-8-sig"),
        (SPANISH.encode("utf-16"), "utf-16"),  # BOM + native order
        (codecs.BOM_UTF16_LE + SPANISH.encode("utf-16-le"), "utf-16"),
        (codecs.BOM_UTF16_BE + SPANISH.encode("utf-16-be"), "utf-16"),
        (SPANISH.encode("utf-32"), "utf-32"),
        (SPANISH.encode("cp1252"), "cp1252"),
    ],
)
def test_each_encoding_decodes_and_is_reported(tmp_path, raw, encoding):
    path = write(tmp_path, "spanish.txt", raw)
    text, reported = decode_bytes(path.read_bytes(), path.name)
    assert text == SPANISH
    assert reported == encoding
    parsed = parse_file(path)
    assert parsed.text == SPANISH
    assert parsed.encoding == encoding
    assert parsed.source_format == "txt"


def test_cp1252_spanish_sentence_exactly():
    text, encoding = decode_bytes("Año, señora, ¿qué?".encode("cp1252"), "es.txt")
    assert (text, encoding) == ("Año, señora, ¿qué?", "cp1252")


def test_bytes_undefined_in_cp1252_fall_back_to_latin1():
    # 0x81/0x9D are undefined in cp1252; with no cp1252-only bytes the file is Latin-1.
    text, encoding = decode_bytes(b"P1: caf\xe9 \x81 ni\xf1o, la se\xf1ora dijo que s\xed", "old.txt")
    assert (text, encoding) == ("P1: café \x81 niño, la señora dijo que sí", "latin-1")


def test_stray_undefined_byte_keeps_the_cp1252_quotes():
    text, encoding = decode_bytes(b"P1: \x93hola\x94, dijo la se\xf1ora \x9d", "mixed.txt")
    assert (text, encoding) == ("P1: \u201chola\u201d, dijo la señora \x9d", "cp1252")


@pytest.mark.parametrize("newline", [b"\r\n", b"\r"])
def test_crlf_and_cr_become_lf(newline):
    raw = newline.join([b"Interviewer: one", b"P1: two", b""])
    parsed = parse_transcript("t.txt", raw)
    assert parsed.text == "Interviewer: one\nP1: two\n"
    assert speeches(parsed) == [("Interviewer", "one"), ("P1", "two")]


def test_bom_is_removed_so_offsets_start_at_the_text():
    parsed = parse_transcript("t.txt", "P1: hola".encode("utf-8-sig"))
    assert parsed.text == "P1: hola"
    assert parsed.turns[0].start == 0


def test_bom_with_invalid_utf8_is_an_error():
    with pytest.raises(InputFileError) as excinfo:
        decode_bytes(codecs.BOM_UTF8 + b"ok \xff\xfe bad", "bad.txt")
    message = error_of(excinfo)
    assert message.startswith("bad.txt: ")
    assert "not valid UTF-8" in message and "save it again as UTF-8" in message


# --- bad input --------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("empty.txt", b""),
        ("blank.txt", b"  \r\n\t\n  "),
        ("bom-only.txt", codecs.BOM_UTF8),
        ("blank16.txt", "\n \n".encode("utf-16")),
        ("empty.docx", b""),
        ("empty.vtt", b""),
    ],
)
def test_empty_files_are_refused(tmp_path, name, raw):
    path = write(tmp_path, name, raw)
    with pytest.raises(InputFileError) as excinfo:
        parse_file(path)
    message = error_of(excinfo)
    assert message.startswith(f"{name}: is empty")
    assert "import again" in message


def test_empty_docx_is_refused(tmp_path):
    document = docx.Document()
    document.add_paragraph("   ")
    document.save(tmp_path / "blank.docx")
    with pytest.raises(InputFileError, match=r"^blank\.docx: is empty"):
        parse_file(tmp_path / "blank.docx")


@pytest.mark.parametrize(
    "raw",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",  # NUL bytes, no BOM
        bytes(range(1, 32)) * 20 + b"some words",  # control characters everywhere
    ],
)
def test_binary_files_are_refused(tmp_path, raw):
    path = write(tmp_path, "picture.txt", raw)
    with pytest.raises(InputFileError) as excinfo:
        parse_file(path)
    assert error_of(excinfo) == (
        "picture.txt: looks like a binary file, not a transcript. "
        "Save it as .txt (UTF-8), .docx, .vtt or .srt and import again"
    )


def test_a_few_control_characters_are_refused_with_where_and_what_to_do():
    # Stored text is the file's text (DESIGN.md, Offsets): control characters are
    # refused, not silently removed. Tabs and newlines are text.
    with pytest.raises(InputFileError) as excinfo:
        decode_bytes(b"P1: hello\tthere\nP2: a\x0c world\x1a" + b" words" * 20, "t.txt")
    message = error_of(excinfo)
    assert message.startswith("t.txt: contains 2 control characters")
    assert "U+000C form feed (page break), on line 2, column 6" in message
    assert "Remove them in a text editor" in message
    assert decode_bytes(b"P1: hello\tthere\n", "t.txt")[0] == "P1: hello\tthere\n"


def test_too_big_names_size_and_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 100)
    path = write(tmp_path, "long.txt", b"P1: words\n" * 15)
    with pytest.raises(InputFileError) as excinfo:
        parse_file(path)
    message = error_of(excinfo)
    assert message.startswith("long.txt: is 150 bytes, over the import limit of 100 bytes")
    # exactly at the limit is fine
    assert parse_transcript("ok.txt", b"P1: words\n" * 10).text.startswith("P1")


def test_too_big_applies_to_docx_and_reports_mib():
    with pytest.raises(InputFileError) as excinfo:
        parse_transcript("huge.docx", b"PK" + b"\x00" * (21 * 1024 * 1024))
    assert "is 21 MiB, over the import limit of 20 MiB" in error_of(excinfo)


@pytest.mark.parametrize(
    ("name", "shown"),
    [("notes.pdf", "'.pdf'"), ("Interview.DOC", "'.doc'"), ("README", "no file extension")],
)
def test_unknown_suffix_names_it_and_the_supported_ones(name, shown):
    with pytest.raises(InputFileError) as excinfo:
        parse_transcript(name, b"P1: hello")
    message = error_of(excinfo)
    assert message.startswith(f"{name}: ")
    assert shown in message
    assert ".txt, .md, .docx, .vtt, .srt" in message


def test_docx_that_is_not_a_zip(tmp_path):
    path = write(tmp_path, "interview.docx", "P1: plain text really".encode())
    with pytest.raises(InputFileError) as excinfo:
        parse_file(path)
    assert error_of(excinfo) == (
        "interview.docx: is not a valid .docx (not a zip archive). "
        "Open it in Word/LibreOffice and save as .docx again, or export as .txt"
    )


def test_docx_that_is_a_zip_but_not_word(tmp_path):
    path = tmp_path / "sheet.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "not a word document")
    with pytest.raises(InputFileError) as excinfo:
        parse_file(path)
    message = error_of(excinfo)
    assert message.startswith("sheet.docx: is not a valid .docx (")
    assert message.endswith("save as .docx again, or export as .txt")


def test_docx_expanding_to_too_much_xml(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_DOCX_XML_BYTES", 1000)
    document = docx.Document()
    document.add_paragraph("P1: " + "words " * 400)
    document.save(tmp_path / "bomb.docx")
    with pytest.raises(InputFileError) as excinfo:
        parse_file(tmp_path / "bomb.docx")
    assert "its XML expands to" in error_of(excinfo)


def test_subtitle_without_cues(tmp_path):
    path = write(tmp_path, "talk.srt", b"just some words\nno timings\n")
    with pytest.raises(InputFileError) as excinfo:
        parse_file(path)
    message = error_of(excinfo)
    assert message.startswith("talk.srt: has no subtitle cues")
    assert "SubRip" in message


def test_subtitle_binary_is_refused():
    with pytest.raises(InputFileError, match="looks like a binary file"):
        parse_transcript("x.vtt", b"WEBVTT\n\x00\x01\x02")


# --- speaker turns in plain text ---------------------------------------------------------

@pytest.mark.parametrize(
    "label",
    [
        "Interviewer", "Researcher 1", "P3", "Principal", "Special educator", "UTP head",
        "Entrevistadora", "Docente", "Jean-Luc", "Dr. O'Brien", "Ñandú Pérez",
    ],
)
def test_label_shapes_are_recognised(label):
    text = f"{label}: first\nQ: question\n{label}: second"
    turns = detect_turns(text)
    assert [t.speaker for t in turns] == [label, "Q", label]
    assert speeches(text, turns)[0] == (label, "first")


def test_turns_offsets_run_to_the_next_turn_without_trailing_blank():
    text = "Transcript of interview 4\n\nInterviewer: How did it go?\nIt was a long day.\n\n\nP4: Fine.\n\n"
    turns = detect_turns(text)
    assert turns == (
        Turn("Interviewer", 27, 73, 40, None),
        Turn("P4", 76, 85, 80, None),
    )
    assert text[27:73] == "Interviewer: How did it go?\nIt was a long day."
    assert text[76:85] == "P4: Fine."


@pytest.mark.parametrize(
    ("line", "timestamp"),
    [
        ("[00:01:02] Kelly: hi", "00:01:02"),
        ("(00:01:02) Kelly: hi", "00:01:02"),
        ("00:01:02 Kelly: hi", "00:01:02"),
        ("[00:01:02.500] Kelly: hi", "00:01:02.500"),
        ("[01:02] Kelly: hi", "01:02"),
        ("Kelly: hi", None),
    ],
)
def test_timestamps_before_labels(line, timestamp):
    text = f"{line}\n[00:09:00] Kelly: bye"
    turns = detect_turns(text)
    assert len(turns) == 2
    assert turns[0].speaker == "Kelly"
    assert turns[0].timestamp == timestamp
    assert turns[0].start == 0
    assert text[turns[0].speech_start:turns[0].end] == "hi"
    assert turns[1].timestamp == "00:09:00"


def test_markdown_bold_labels_kept_verbatim(tmp_path):
    md = "# Interview 2\n\n**Interviewer:** Why?\n\n**Principal**: Because.\n\n**Principal:** Yes.\n"
    parsed = parse_file(write(tmp_path, "i2.md", md.encode()))
    assert parsed.text == md
    assert parsed.source_format == "md"
    assert speeches(parsed) == [("Interviewer", "Why?"), ("Principal", "Because."), ("Principal", "Yes.")]
    assert parsed.text[parsed.turns[0].start:].startswith("**Interviewer:**")
    check_turn_invariants(parsed)


def test_one_off_labels_are_not_turns_but_recurring_ones_and_roles_are():
    text = (
        "Note: the school was closed.\n"
        "Teacher: We met.\n"
        "Time: 10:30\n"
        "Teacher: Again.\n"
        "I: And then?\n"
    )
    assert [t.speaker for t in detect_turns(text)] == ["Teacher", "Teacher", "I"]
    twice = "Note: one\nNote: two\n"
    assert [t.speaker for t in detect_turns(twice)] == ["Note", "Note"]


def test_recurrence_is_case_insensitive():
    assert [t.speaker for t in detect_turns("TEACHER: a\nteacher: b")] == ["TEACHER", "teacher"]


@pytest.mark.parametrize(
    "line",
    [
        "And then the principal said: no",  # five words
        "Abcdefghijklmnopqrstuvwxyz abcdefghijklmnopq: x",  # over 40 characters
        "https://example.org/page",  # colon not followed by a space
        "3 teachers: came",  # starts with a digit
        "ratio:1",
    ],
)
def test_lines_that_are_not_labels(line):
    assert detect_turns(f"{line}\n{line}\n") == ()


def test_label_alone_on_its_line_and_french_spacing():
    text = "Enquêtrice :\n  Bonjour.\nEnquêtrice : Merci."
    turns = detect_turns(text)
    assert [t.speaker for t in turns] == ["Enquêtrice", "Enquêtrice"]
    assert text[turns[0].speech_start:turns[0].end] == "Bonjour."
    assert text[turns[1].speech_start:turns[1].end] == "Merci."


def test_label_with_no_words_has_speech_start_at_end():
    text = "P1:\nP2: words"
    first = detect_turns(text)[0]
    assert (first.start, first.speech_start, first.end) == (0, 3, 3)


def test_emoji_offsets_are_code_points(tmp_path):
    text = "P1: Bravo 👏👏\nP2: Gracias 🙂 de verdad\n"
    parsed = parse_file(write(tmp_path, "e.txt", text.encode("utf-16")))
    second = parsed.turns[1]
    assert second.start == text.index("P2:") == 13  # UTF-16 would say 15
    assert parsed.text[second.speech_start:second.end] == "Gracias 🙂 de verdad"
    assert parsed.text[parsed.turns[0].speech_start:parsed.turns[0].end] == "Bravo 👏👏"


def test_no_labels_no_turns():
    parsed = parse_transcript("free.txt", b"Just a narrative\nwithout any speakers.")
    assert parsed.turns == ()


# --- custom speaker pattern ------------------------------------------------------------

def test_custom_pattern_with_timestamp_group():
    text = "intro\nKELLY 0:03 > hello there\n  more\nBOB 0:10 > hi\n"
    pattern = r"(?P<speaker>[A-Z]+) (?P<timestamp>\d+:\d\d) > "
    turns = detect_turns(text, pattern)
    assert speeches(text, turns) == [("KELLY", "hello there\n  more"), ("BOB", "hi")]
    assert [t.timestamp for t in turns] == ["0:03", "0:10"]
    assert turns[0].start == text.index("KELLY")
    # the built-in rule finds nothing here
    assert detect_turns(text) == ()


def test_custom_pattern_through_parse_transcript_overrides_builtin():
    raw = b"Interviewer: ignored rule\n>> Ana: hola\n>> Luis: hey\n"
    parsed = parse_transcript("t.txt", raw, speaker_pattern=r">> (?P<speaker>\w+): ")
    assert speeches(parsed) == [("Ana", "hola"), ("Luis", "hey")]
    assert all(t.timestamp is None for t in parsed.turns)


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        (r"(?P<speaker>[A-Z", "is not a valid regular expression"),
        (r"(\w+): ", "has no named group 'speaker'"),
    ],
)
def test_bad_custom_pattern(pattern, why):
    with pytest.raises(CodingError) as excinfo:
        detect_turns("P1: hi", pattern)
    message = error_of(excinfo)
    assert why in message
    assert message.endswith("Give a regular expression with a named group (?P<speaker>...)")
    assert not isinstance(excinfo.value, InputFileError)
    with pytest.raises(CodingError, match=why):
        parse_transcript("t.txt", b"P1: hi", speaker_pattern=pattern)


# --- docx -----------------------------------------------------------------------------

def test_docx_paragraphs_and_tables_in_document_order(tmp_path):
    document = docx.Document()
    document.add_paragraph("Interview 7 👏")
    document.add_paragraph("Interviewer: How are the teams?")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "Principal: They meet weekly."
    table.cell(0, 1).text = "Interviewer: Good."
    document.add_paragraph("Principal: Thank you.")
    document.save(tmp_path / "i7.docx")

    parsed = parse_file(tmp_path / "i7.docx")
    assert parsed.encoding == "docx"
    assert parsed.source_format == "docx"
    assert parsed.text == (
        "Interview 7 👏\nInterviewer: How are the teams?\nPrincipal: They meet weekly.\n"
        "Interviewer: Good.\nPrincipal: Thank you."
    )
    assert speeches(parsed) == [
        ("Interviewer", "How are the teams?"),
        ("Principal", "They meet weekly."),
        ("Interviewer", "Good."),
        ("Principal", "Thank you."),
    ]
    assert parsed.turns[0].start == len("Interview 7 👏\n")
    check_turn_invariants(parsed)


def test_docx_line_breaks_inside_a_paragraph(tmp_path):
    document = docx.Document()
    document.add_paragraph("P1: line one\nline two")
    document.add_paragraph("P2: ok")
    document.save(tmp_path / "br.docx")
    parsed = parse_file(tmp_path / "br.docx")
    assert parsed.text == "P1: line one\nline two\nP2: ok"
    assert speeches(parsed) == [("P1", "line one\nline two"), ("P2", "ok")]


def test_docx_tracked_insertions_kept_and_deletions_dropped(tmp_path):
    document = docx.Document()
    paragraph = document.add_paragraph("P1: we ")
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    paragraph._p.append(parse_xml(
        f'<w:ins xmlns:w="{w}" w:id="1" w:author="A"><w:r><w:t>really</w:t></w:r></w:ins>'
    ))
    paragraph._p.append(parse_xml(
        f'<w:del xmlns:w="{w}" w:id="2" w:author="A"><w:r><w:delText>never</w:delText></w:r></w:del>'
    ))
    paragraph.add_run(" met")
    document.save(tmp_path / "tracked.docx")
    assert parse_file(tmp_path / "tracked.docx").text == "P1: we really met"


# --- WebVTT ---------------------------------------------------------------------------

VTT = """WEBVTT - interview 3

NOTE recorded on Teams
by the school

STYLE
::cue { color: lime }

intro-1
00:00:01.000 --> 00:00:03.500 align:start
<v.loud Kelly>Hello <b>everyone</b>, Q&amp;A
after this

00:00:03.500 --> 00:00:05.000
<v Kelly>second cue 👏</v>

00:01:02.500 --> 00:01:04.000
<v Bob Smith>Hi <c.yellow>Kelly</c>

00:01:04.000 --> 00:01:05.000
<v Kelly>Yes<v Bob Smith>No
"""


def test_vtt_voice_tags_merge_and_strip(tmp_path):
    parsed = parse_file(write(tmp_path, "i3.vtt", VTT.encode("utf-8")))
    assert parsed.source_format == "vtt"
    assert parsed.encoding == "utf-8"
    assert parsed.text == (
        "Kelly: Hello everyone, Q&A after this second cue 👏\n\n"
        "Bob Smith: Hi Kelly\n\n"
        "Kelly: Yes\n\n"
        "Bob Smith: No"
    )
    assert [(t.speaker, t.timestamp) for t in parsed.turns] == [
        ("Kelly", "00:00:01.000"),
        ("Bob Smith", "00:01:02.500"),
        ("Kelly", "00:01:04.000"),
        ("Bob Smith", "00:01:04.000"),
    ]
    bob = parsed.turns[1]
    assert bob.start == parsed.text.index("Bob Smith:")  # after an emoji: code points
    assert parsed.text[bob.speech_start:bob.end] == "Hi Kelly"
    check_turn_invariants(parsed)


def test_vtt_name_prefix_crlf_and_unknown_speaker(tmp_path):
    vtt = (
        "WEBVTT\r\n\r\n"
        "00:00:00.000 --> 00:00:02.000\r\n[music]\r\n\r\n"
        "00:00:02.000 --> 00:00:04.000\r\nInterviewer: Welcome.\r\n\r\n"
        "00:00:04.000 --> 00:00:06.000\r\nAna López: Gracias.\r\n\r\n"
        "00:00:06.000 --> 00:00:08.000\r\ny más\r\n\r\n"
        "00:00:08.000 --> 00:00:09.000\r\nAna López: Fin.\r\n"
    )
    parsed = parse_file(write(tmp_path, "z.vtt", vtt.encode("utf-8-sig")))
    assert parsed.encoding == "utf-8-sig"
    assert parsed.text == "[music]\n\nInterviewer: Welcome.\n\nAna López: Gracias. y más Fin."
    assert [(t.speaker, t.timestamp) for t in parsed.turns] == [
        ("Unknown", "00:00:00.000"),
        ("Interviewer", "00:00:02.000"),
        ("Ana López", "00:00:04.000"),
    ]
    unknown = parsed.turns[0]
    assert unknown.speech_start == unknown.start == 0  # no label written
    check_turn_invariants(parsed)


def test_vtt_one_off_prefix_is_not_a_speaker():
    vtt = "WEBVTT\n\n00:01.000 --> 00:02.000\nNote: the bell rings\n"
    parsed = parse_transcript("n.vtt", vtt.encode())
    assert parsed.text == "Note: the bell rings"
    assert [(t.speaker, t.speech_start, t.timestamp) for t in parsed.turns] == [
        ("Unknown", 0, "00:01.000")
    ]


# --- SubRip ---------------------------------------------------------------------------

SRT = """1
00:00:01,000 --> 00:00:02,000
Interviewer: <i>So</i>,
tell me.

2
00:00:02,500 --> 00:00:04,000
{\\an8}Principal: We did it.
3
00:00:04,000 --> 00:00:05,000
Principal: Sí, 3 veces.

4
00:00:05,000 --> 00:00:06,000
Interviewer: OK.
"""


@pytest.mark.parametrize(("encoding", "reported"), [("utf-8", "utf-8"), ("cp1252", "cp1252")])
def test_srt_cues_numbers_dropped_and_speakers_merged(tmp_path, encoding, reported):
    parsed = parse_file(write(tmp_path, "i5.srt", SRT.encode(encoding)))
    assert parsed.source_format == "srt"
    assert parsed.encoding == reported
    assert parsed.text == (
        "Interviewer: So, tell me.\n\nPrincipal: We did it. Sí, 3 veces.\n\nInterviewer: OK."
    )
    assert [(t.speaker, t.timestamp) for t in parsed.turns] == [
        ("Interviewer", "00:00:01,000"),
        ("Principal", "00:00:02,500"),
        ("Interviewer", "00:00:05,000"),
    ]
    check_turn_invariants(parsed)


def test_srt_with_custom_pattern():
    srt = "1\n00:00:01,000 --> 00:00:02,000\n>> ANA: hola\n\n2\n00:00:02,000 --> 00:00:03,000\n>> LUIS: hey\n"
    parsed = parse_transcript("p.srt", srt.encode(), speaker_pattern=r">> (?P<speaker>[A-Z]+): ")
    assert parsed.text == "ANA: hola\n\nLUIS: hey"
    assert speeches(parsed) == [("ANA", "hola"), ("LUIS", "hey")]


# --- decoding decisions (hostile and legacy input) ---------------------------------------

@pytest.mark.parametrize(("text", "codec", "reported"), [
    ("インタビュアー：先生たちはどのように協力していますか。\n", "euc_jp", "euc_jp"),
    ("採訪者：老師們是怎麼合作的？我們每個星期都在一起準備課。\n", "big5", "big5"),
    ("면접관: 선생님들은 어떻게 협력합니까? 우리는 매주 함께 수업을 준비합니다.\n", "cp949", "cp949"),
])
def test_east_asian_code_pages_are_recognised(text, codec, reported):
    decoded = decoding.decode_text(text.encode(codec), "x.txt")
    assert (decoded.text, decoded.encoding) == (text, reported)
    assert "is not UTF-8; read as" in decoded.warnings[0]


def test_portuguese_cp1252_with_adjacent_accents_is_not_refused():
    text = "Entrevistadora: A informação não chegou à coordenação, então?\n" * 3
    decoded = decoding.decode_text(text.encode("cp1252"), "pt.txt")
    assert (decoded.text, decoded.encoding) == (text, "cp1252")


def test_utf16_with_a_lone_surrogate_is_replaced_and_counted():
    raw = codecs.BOM_UTF16_LE + "P1: hola ".encode("utf-16-le") + b"\x00\xd8" + " fin".encode("utf-16-le")
    decoded = decoding.decode_text(raw, "u.txt")
    assert decoded.text == "P1: hola \ufffd fin" and decoded.replaced_bytes == 2
    assert "were not valid UTF-16" in decoded.warnings[0]


def test_clean_utf8_has_no_warning():
    assert decoding.decode_text(SPANISH.encode(), "x.txt").warnings == ()


@pytest.mark.parametrize(("text", "limit", "start"), [
    ("a" * 5, 5, None), ("a" * 6, 5, 0), ("ab\n" + "a" * 6 + "\nb", 5, 3), ("ab\nabcde\nabcde", 5, None),
    ("\n" * 20 + "a" * 6, 5, 20), ("", 5, None),
])
def test_long_line_search(text, limit, start):
    assert decoding._long_line_start(text, limit) == start


def test_builtin_labels_found_in_one_scan_equal_the_rule_applied_line_by_line():
    """find_labels scans the text once; applying match_label at every line start
    (the rule as written) must find the same labels."""
    import random

    from coding.importing.speakers import find_labels, label_key, is_role_word, match_label
    rng = random.Random(7)
    pieces = ["Interviewer: hi", "P3: yes", "  Ana López: sí", "[00:01:02] Kelly: ok", "Note: x", "**Q:** w",
              "no label here", "", "   ", "a: b: c", "Ana López : fr", "12:30 lunch", ":", "x" * 70 + ": y"]
    for _ in range(200):
        text = "\n".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n" and i + 1 < len(text)]
        per_line = [h for p in starts if (h := match_label(text, p))]
        counts = Counter(label_key(h.speaker) for h in per_line)
        expected = [h for h in per_line if counts[label_key(h.speaker)] >= 2 or is_role_word(h.speaker)]
        assert find_labels(text) == expected, text
