# ruff: noqa: RUF001, RUF002, RUF003 - other scripts' numbers are what this module reads
"""Numbers in a transcript line, however they were said: the digits before they are judged.

A speech engine writes a card number in many ways, and masking that only knows
"4111 1111 1111 1111" keeps every other one (issue 22). This module finds the
runs of digits in a line whatever their script or spelling, and where each run
is in the line as written, so that live/redact.py judges the digits and masks
the words that said them:

- digits in any width (NFKC folds "４１１１" to "4111"), kanji numerals said digit by
  digit ("四一一一", "〇", "○") or as a value ("二千二十四" is 2024, and in kana
  "よんせんごひゃくさんじゅうに" is 4532), kana readings
  ("よんいちいち", "ゼロ", "きゅう", with a long "にー"/"ごー"/"にい"/"ごお" as phone numbers
  are read), also one at a time apart ("ゴ、ゴ、ヨン、ヨン", "よん に よん");
- English number words: zero / oh / o / nought, one to nine, the teens and the tens
  ("forty two thirty one" is 4231), "double six", "triple seven";
- one run across separators (spaces, - – — ― ‐ − ー －, . , / : ; 、 ・ 。) and across a
  little filler between groups ("4634 and 4119 then 0391", "4634と4119"): a card read in
  groups is one number, and splitting it would let each group pass as short.

Each run is told apart as an amount ("1500 yen", "$20", "500円"), a time or a date
("15:30", "3 o'clock", "2024年", "12月"), or a plain number; only plain numbers can be
part of a card outside card talk (live/redact.py).

Why by hand and not a library: number-word parsers (word2number, ja-number readers)
turn a phrase into one value ("forty two thirty one" into 4231? or 73?), drop what
they do not know and do not say where in the text the number was; masking needs the
digits as said, in order, with their place in the line, from a few tables. NFKC is the
standard library's (`unicodedata`); phrase matching's kana/width folding is another
module's (live/phrases.py) and does not change numbers.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

NUMBER = "number"
AMOUNT = "amount"
WHEN = "when"  # a time, a date, a duration, a count of things

_UNITS = {"zero": "0", "oh": "0", "o": "0", "nought": "0", "naught": "0", "one": "1",
          "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
          "eight": "8", "nine": "9"}  # fmt: skip
_TEENS = {"ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14",
          "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18",
          "nineteen": "19"}  # fmt: skip
_TENS = {"twenty": "2", "thirty": "3", "forty": "4", "fourty": "4", "fifty": "5", "sixty": "6",
         "seventy": "7", "eighty": "8", "ninety": "9"}  # fmt: skip
_REPEAT = {"double": 2, "triple": 3}
# Words that may start a number: an English line without a digit or one of these holds none.
NUMBER_WORDS = frozenset([*_UNITS, *_TEENS, *_TENS])
# Said between the groups of one number ("4634 and 4119"): they do not end the run.
# (a dash said, "4532 dash 0151", is one too)
_FILLERS_EN = ("and", "then", "um", "uh", "er", "erm", "ah", "next", "okay", "ok", "so",
               "dash", "hyphen")  # fmt: skip
# The kana ones are words of their own: a reading beside one is a digit as beside a particle.
_KANA_FILLERS = ("それから", "えっと", "えーと", "えー", "あと", "つぎは", "つぎ",
                 "ハイフン", "はいふん", "ダッシュ", "だっしゅ")  # fmt: skip
_FILLERS_JA = (*_KANA_FILLERS, "次は", "次", "と", "の", "で", "は")
# "○" (a white circle) is how a speech engine or a hand writes a zero as often as "〇".
_KANJI_DIGITS = {"〇": 0, "○": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6,
                 "七": 7, "八": 8, "九": 9}  # fmt: skip
_KANJI_POWERS = {"十": 10, "百": 100, "千": 1000}
# Formal numerals (大字), written where a stroke must not be added to a number (contracts,
# cheques) and now and then by a speech engine: a third trial's "四五参弐 壱弐参四 五六七八
# 九零壱弐" was kept whole. Each is read as the plain kanji before the scan. Some are everyday
# words as well (参加, 拾う, 陸上, 伍する), so one is a numeral only beside another numeral
# ("四五参弐", "三陸" too: one number more, never one digit fewer).
_DAIJI = {"壱": "一", "壹": "一", "弌": "一", "弐": "二", "貳": "二", "弍": "二", "参": "三",
          "參": "三", "弎": "三", "肆": "四", "伍": "五", "陸": "六", "漆": "七", "柒": "七",
          "捌": "八", "玖": "九", "拾": "十", "佰": "百", "陌": "百", "阡": "千", "仟": "千",
          "萬": "万"}  # fmt: skip
_NUMERALS = "0-9〇○零一二三四五六七八九十百千万" + "".join(_DAIJI)
_DAIJI_ANY = re.compile(f"[{''.join(_DAIJI)}]")
_DAIJI_BESIDE = re.compile(f"[{_NUMERALS}]*[{''.join(_DAIJI)}][{_NUMERALS}]*")
_DAIJI_PLAIN = str.maketrans(_DAIJI)
# A long "2" and "5" are written every way: "にー"/"ごー", "にい"/"ごお", and "ごう" (phone and
# card numbers are read so, one syllable each digit; a trial found "よんごうさんに" kept).
_KANA = {"ぜろ": "0", "れい": "0", "まる": "0", "いち": "1", "にー": "2", "にい": "2",
         "にぃ": "2", "に": "2", "さん": "3", "よん": "4", "し": "4", "ごー": "5", "ごお": "5",
         "ごぉ": "5", "ごう": "5", "ご": "5", "ろく": "6",
         "なな": "7", "しち": "7", "はち": "8", "きゅう": "9", "きゅー": "9",
         "く": "9"}  # fmt: skip


def _katakana(table: dict[str, str]) -> dict[str, str]:
    """The same readings in katakana ("ゼロ", "イチ", "ヒャク"): the table, shifted."""
    return {"".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in k): v
            for k, v in table.items()}  # fmt: skip


_KANA.update(_katakana(_KANA))
_KANJI_OF_DIGIT = "〇一二三四五六七八九"
# At least two readings in a row: "に" alone is a particle, "し" a verb.
_KANA_ONE = re.compile("|".join(sorted(_KANA, key=len, reverse=True)))
# Readings are whole words: not inside other kana ("よろしくご" holds し, く, ご), except
# after or before a particle ("番号はよんいち", "ゼロのいち", "いちです").
# ... and after or before a kana filler between the groups of one number ("…ハイフンよんご…",
# "…えっとさん…").
_KANA_BEFORE = (
    "(?:(?<![ぁ-ゖァ-ヺ])|(?<=[はがをもとのでへ])|"
    + "|".join(f"(?<={filler})" for filler in _KANA_FILLERS)
    + ")"
)
# (a particle that is not the start of a reading: "よ" but not "よん", "ま" but not "まる")
# ("だ" too: a card read straight into "…ろくろくだよ")
_KANA_AFTER = (
    "(?:(?![ぁ-ゖァ-ヺ])|(?=です|でし|の|と|で|ね|よ(?!ん)|か|ま(?!る)|ば|番|だ|じゃ|"
    + "|".join(_KANA_FILLERS)
    + "))"
)
# ... or one after a separator or filler inside a number ("ゼロゼロ ゼロ", "ゼロゼロとゼロ").
_KANA_RUN = f"{_KANA_BEFORE}(?:{_KANA_ONE.pattern}){{2,}}{_KANA_AFTER}"
_KANA_SINGLE = f"{_KANA_BEFORE}(?:{_KANA_ONE.pattern}){_KANA_AFTER}"
_KANJI_RUN = "[〇○零一二三四五六七八九十百千万]+"
# A number said with its places in kana ("よんせんごひゃくさんじゅうに" is 4532, "ろっぴゃく"
# 600), as the kanji run above reads "四千五百三十二": each reading becomes its kanji and the
# kanji are read as a value. The sound changes of a place ("さんびゃく", "はっせん") too.
# A trial found a card read so in four groups kept whole (the kanji form was masked).
_KANA_PLACES = {"せん": "千", "ぜん": "千", "ひゃく": "百", "びゃく": "百", "ぴゃく": "百",
                "じゅう": "十", "じゅっ": "十", "まん": "万"}  # fmt: skip
_KANA_CHANGED = {"ろっ": "六", "はっ": "八", "いっ": "一"}  # before a place: "ろっぴゃく"
_KANA_PLACES.update(_katakana(_KANA_PLACES))
_KANA_CHANGED.update(_katakana(_KANA_CHANGED))
_PLACE = "|".join(sorted(_KANA_PLACES, key=len, reverse=True))
_PLACE_DIGIT = "|".join(sorted([*_KANA_CHANGED, *_KANA], key=len, reverse=True))
# Places, each with its digit or not ("ひゃくごじゅういち" is 151), and a last digit; whole
# words as the readings are (so "せんせい" and "じゅうしょ" are words).
_KANA_PLACES_RUN = (
    f"{_KANA_BEFORE}(?:(?:{_PLACE_DIGIT})?(?:{_PLACE}))+(?:{_KANA_ONE.pattern})?{_KANA_AFTER}"
)
_KANA_PLACE_PART = re.compile(f"{_PLACE}|{_PLACE_DIGIT}")


def _kana_places(chars: str) -> str | None:
    """The value of a number said with its places in kana, or None for one place alone (a
    word: "せん" is as often 線 or 選)."""
    parts = _KANA_PLACE_PART.findall(chars)
    if len(parts) < 2:
        return None
    kanji = "".join(
        _KANA_PLACES.get(part) or _KANA_CHANGED.get(part) or _KANJI_OF_DIGIT[int(_KANA[part])]
        for part in parts
    )
    return _kanji(kanji)


_WORDS = sorted([*_UNITS, *_TEENS, *_TENS, *_REPEAT], key=len, reverse=True)
_SEPARATORS = "\\s\\-–—―‐‑‒−ー~.,/:;、・。･"

# The characters any token but `x` can begin with. A run of other characters is one `x`
# token: consecutive `x` tokens do nothing after the first (it closes what is open), so
# taking the run at once is the same scan, and a Japanese line (most of its characters are
# words, not numbers) is read in a few steps instead of one regex attempt per character
# (bench.transcript's Japanese lines that hold a number: 22 µs a line before, 16 after).
_FIRSTS = {w[0] for w in [*_KANA, *_KANA_PLACES, *_KANA_CHANGED, *_WORDS, *_FILLERS_EN,
                           *_FILLERS_JA]}  # fmt: skip
_STARTS = "".join(sorted({"'", *"0123456789", *_KANJI_RUN[1:-2], *_FIRSTS}))
_TOKEN_PARTS = (
    "(?P<d>[0-9])"
    f"|(?P<k>{_KANJI_RUN})"
    f"|(?P<kp>{_KANA_PLACES_RUN})"
    f"|(?P<n>{_KANA_RUN})"
    f"|(?P<n1>{_KANA_SINGLE})"
    f"|(?P<w>(?<![a-z])(?:{'|'.join(_WORDS)})(?![a-z']))"
    f"|(?P<f>(?<![a-z])(?:{'|'.join(_FILLERS_EN)})(?![a-z'])|{'|'.join(_FILLERS_JA)})"
    f"|(?P<s>[{_SEPARATORS}]+)"
)
_TOKEN = re.compile(
    f"(?P<xr>[^{re.escape(_STARTS)}{_SEPARATORS}a-z]+)|" + _TOKEN_PARTS + "|(?P<x>[a-z']+|.)",
    re.DOTALL,
)
# The same scan one character at a time (the tests check that the two read alike).
_TOKEN_BY_CHARACTER = re.compile(_TOKEN_PARTS + "|(?P<x>[a-z']+|.)", re.DOTALL)
MAX_FILLERS = 2  # filler words in a row between two groups of one number

# What a line needs for this module to find anything: a digit in any script, or a word
# or kana that may be one. Most lines have none and cost a search or three. The three are
# asked apart (the one regex they would make is the same question): the English words,
# looked for at every position of a line, cost a Japanese line some 20 µs, and none of
# them can be in a line without a letter that is a-z whatever its case (Unicode's folding,
# as IGNORECASE has it: the Kelvin sign is a k), which a Japanese line finds in 1 µs.
# (formal numerals too: one search a line, not a second for them)
_MAYBE_DIGIT = re.compile(f"[0-9０-９〇○零一二三四五六七八九{''.join(_DAIJI)}]", re.IGNORECASE)
_PLACES_ONLY_NUMBERS = [p for p in _KANA_PLACES if p[0] not in "せぜまセゼマ"]
_SINGLE_KANA = ("に", "し", "く", "ご", "ニ", "シ", "ク", "ゴ")  # each also a particle or a word
# (and the places that only a number has: "せん" is in every "ません", "まん" in "すみません")
_MAYBE_KANA = re.compile(
    "|".join(sorted({*_KANA, *_PLACES_ONLY_NUMBERS} - {*_SINGLE_KANA})), re.IGNORECASE
)
# ... but two of them apart, as digits read one at a time are ("ゴ、ゴ、ニ、ニ"), may be digits.
_MAYBE_SINGLES = re.compile(f"[{''.join(_SINGLE_KANA)}][{_SEPARATORS}]+[{''.join(_SINGLE_KANA)}]")
_LATIN = re.compile("[a-z]", re.IGNORECASE)
_HALF_KANA = re.compile("[\uff66-\uff9f]")  # half-width katakana, which the scan folds
_MAYBE_WORD = re.compile(
    f"(?<![a-z])(?:{'|'.join([*_UNITS, *_TEENS, *_TENS])})(?![a-z'])", re.IGNORECASE
)

_AMOUNT_BEFORE = re.compile(r"[$¥€£₩][\s]*$")
_AMOUNT_AFTER = re.compile(
    r"^\s*(?:円|万円|ドル|ユーロ|ポンド|%|パーセント|yen|dollars?|bucks|pounds?|euros?|cents?|"
    r"percent|per\s+cent)"
)
_WHEN_AFTER = re.compile(
    r"^\s*(?:年|月|日|時|分|秒|歳|才|個|件|枚|人|名|回|本|階|週|ヶ月|か月|カ月|"
    r"o'?clock|a\.?m\b|p\.?m\b|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?|"
    r"seconds?|secs?|items?|people|times|st\b|nd\b|rd\b|th\b)"
)
_TIME = re.compile(r"^\d{1,2}[:時]\d{2}$")


@dataclass(frozen=True, slots=True)
class Run:
    """One number as said: where it is in the line (start, end: the original text's
    indices), its digits in order, and what kind of number it looks like."""

    start: int
    end: int
    digits: str
    kind: str = NUMBER

    def __len__(self) -> int:
        return len(self.digits)


def _kanji(chars: str) -> str:
    """Kanji numerals: digit by digit ("四一一一", "二〇二四"), or a value ("二千二十四")."""
    if not any(c in _KANJI_POWERS or c == "万" for c in chars):
        return "".join(str(_KANJI_DIGITS[c]) for c in chars)
    total = section = digit = 0
    for c in chars:
        if c in _KANJI_DIGITS:
            digit = digit * 10 + _KANJI_DIGITS[c]
        elif c == "万":
            total += (section + digit or 1) * 10_000
            section = digit = 0
        else:
            section += (digit or 1) * _KANJI_POWERS[c]
            digit = 0
    return str(total + section + digit)


_BY_LENGTH = sorted(_KANA, key=len, reverse=True)


def _kana(chars: str) -> str:
    """The digits of a run of kana readings, split as the run's regex matched it: the longest
    reading first, and a shorter one where the longest leaves a rest that is no reading
    ("にいち" is に and いち, 21, where "にい" would leave "ち")."""

    # From the end back (a loop, not recursion: a line of a thousand readings raised
    # RecursionError), each position's digits: its first reading, longest first, whose rest
    # splits too. None: no split from there.
    rest: list[str | None] = [None] * len(chars) + [""]
    for at in range(len(chars) - 1, -1, -1):
        for reading in _BY_LENGTH:
            after = at + len(reading)
            if chars.startswith(reading, at) and rest[after] is not None:
                rest[at] = _KANA[reading] + str(rest[after])
                break
    whole = rest[0]
    if whole is None:  # (the regex matched it, so it splits; greedy all the same)
        return "".join(_KANA[m.group(0)] for m in _KANA_ONE.finditer(chars))
    return whole


def _plain_numerals(folded: str) -> str:
    """Formal numerals beside another numeral as the plain kanji (one character each, so
    the indices of `_folded` hold)."""
    if _DAIJI_ANY.search(folded) is None:
        return folded
    return _DAIJI_BESIDE.sub(
        lambda m: m.group(0).translate(_DAIJI_PLAIN) if len(m.group(0)) > 1 else m.group(0),
        folded,
    )


def _folded(text: str) -> tuple[str, list[int], list[int]]:
    """The line in NFKC, lower case, and for each of its characters where in `text` the
    characters it came from begin and end (a base and its marks fold into one); formal
    numerals beside a numeral as the plain ones."""
    folded, origin, ends = _nfkc(text)
    return _plain_numerals(folded), origin, ends


def _nfkc(text: str) -> tuple[str, list[int], list[int]]:
    if text.isascii():
        return text.lower(), list(range(len(text))), list(range(1, len(text) + 1))
    if unicodedata.is_normalized("NFKC", text) and "\u03a3" not in text:
        # Most lines (a speech engine writes NFKC already): each character is its own NFKC,
        # so the loop below would lower them one by one, which is lowering the line
        # (but for Σ, which the line lowers by its place in a word). Where every character
        # stays one, the indices are the line's own.
        lowered = text.lower()
        if len(lowered) == len(text):
            return lowered, list(range(len(text))), list(range(1, len(text) + 1))
    out: list[str] = []
    origin: list[int] = []
    ends: list[int] = []
    i = 0
    while i < len(text):
        # A character with the marks that follow it, folded together: half-width katakana
        # writes a voiced sound as its own mark ("ｺﾞ" is コ and ﾞ), which NFKC composes
        # into ゴ only beside its base (a trial's "ﾖﾝｺﾞｻﾝﾆ…" was kept, read as "ヨンコ゛…").
        j = i + 1
        while j < len(text) and (text[j] in _VOICED_MARKS or unicodedata.combining(text[j])):
            j += 1
        piece = text[i:j]
        folded = piece if piece.isascii() else unicodedata.normalize("NFKC", piece)
        for c in folded.lower():
            out.append(c)
            origin.append(i)
            ends.append(j)
        i = j
    return "".join(out), origin, ends


# Half-width katakana's voiced and semi-voiced marks, written after the kana they change.
_VOICED_MARKS = "\uff9e\uff9f"


def may_hold_numbers(text: str) -> bool:
    """Whether a line could hold a number at all (most lines do not)."""
    if _HALF_KANA.search(text) is not None:
        text = unicodedata.normalize("NFKC", text)  # "ﾖﾝｺﾞ" is read as "ヨンゴ"
    return (
        _MAYBE_DIGIT.search(text) is not None
        or _MAYBE_KANA.search(text) is not None
        or _MAYBE_SINGLES.search(text) is not None
        or (_LATIN.search(text) is not None and _MAYBE_WORD.search(text) is not None)
    )


def _kind(folded: str, start: int, end: int) -> str:
    said = folded[start:end]
    if _AMOUNT_BEFORE.search(folded[max(0, start - 3) : start]) or _AMOUNT_AFTER.match(
        folded[end : end + 14]
    ):
        return AMOUNT
    if _WHEN_AFTER.match(folded[end : end + 10]) or _TIME.match(said.replace(" ", "")):
        return WHEN
    return NUMBER


def runs(text: str, _token: re.Pattern[str] = _TOKEN) -> list[Run]:
    """Every number said in `text`, in order."""
    if not may_hold_numbers(text):
        return []
    folded, origin, ends = _folded(text)
    found: list[Run] = []
    parts: list[str] = []
    start = end = -1
    real = False  # one "oh" alone is an exclamation, not a number
    fillers = 0
    repeat = 1
    tens: tuple[str, int] | None = None  # "forty" (and where it ends) waiting for a unit

    def close() -> None:
        nonlocal parts, start, end, real, fillers, repeat, tens
        if tens is not None:
            parts.append(tens[0] + "0")
            real = True
            end = tens[1]
        if parts and (real or len(parts) > 1):  # "oh", but "oh oh seven"
            digits = "".join(parts)
            found.append(Run(origin[start], ends[end - 1], digits, _kind(folded, start, end)))
        parts, start, end, real, fillers, repeat, tens = [], -1, -1, False, 0, 1, None

    def add(digits: str, at: int, to: int, counts: bool = True) -> None:
        nonlocal start, end, real, fillers, repeat
        if start < 0:
            start = at
        parts.append(digits * repeat)
        repeat, fillers, end = 1, 0, to
        real = real or counts

    after_separator = False
    for m in _token.finditer(folded):
        kind = m.lastgroup
        if kind == "xr":
            kind = "x"
        said = m.group(0)
        opens = False
        if kind == "n1":
            # One reading alone ("に", "ご") is as often a particle or a word: it continues a
            # number after a separator, and it opens one at the line's start or after a
            # separator, counted only if another digit follows ("ゴ、ゴ、ヨン、ヨン": digits
            # read one at a time; "はい、に" alone is no number).
            if tens is None and (after_separator or m.start() == 0):
                kind, opens = "n", start < 0
            else:
                kind = "x"
        after_separator = kind in ("s", "f")
        if tens is not None:
            if kind == "w" and said in _UNITS and _UNITS[said] != "0":
                add(tens[0] + _UNITS[said], start, m.end())  # "forty two" is 42
                tens = None
                continue
            if kind != "s":
                add(tens[0] + "0", start, tens[1])  # "forty" alone is 40
                tens = None
        if kind == "d":
            add(said, m.start(), m.end())
        elif kind == "k":
            if len(said) == 1 and said not in _KANJI_DIGITS:
                close()  # "千葉", "十分": a lone power of ten is a word, not a number
                continue
            add(_kanji(said), m.start(), m.end())
        elif kind == "kp":
            value = _kana_places(said)
            if value is None:
                close()  # one place alone is a word
                continue
            add(value, m.start(), m.end())
        elif kind == "n":
            add(_kana(said), m.start(), m.end(), counts=not opens)
        elif kind == "w":
            if said in _REPEAT:
                if start < 0:
                    start = end = m.start()
                repeat = _REPEAT[said]
            elif said in _TENS:
                if start < 0:
                    start = m.start()
                tens = (_TENS[said], m.end())
            elif said in _TEENS:
                add(_TEENS[said], m.start(), m.end())
            else:
                add(_UNITS[said], m.start(), m.end(), counts=said not in ("oh", "o"))
        elif kind == "f":
            if start >= 0:
                fillers += 1
                if fillers > MAX_FILLERS:
                    close()
        elif kind == "x" and (start >= 0 or tens is not None):
            close()  # (with nothing open, as after most characters of a line, it has no work)
    close()
    return found


def single_digit(said: str) -> str | None:
    """The digit `said` is when it is one kana reading and nothing else ("よん", "ゴ", "ｺﾞ"),
    else None: the one number `runs` leaves out (a reading alone is as often a particle
    inside a line), which live/redact.py reads where a line is nothing else. A lone digit,
    numeral or number word `runs` finds itself."""
    return _KANA.get(unicodedata.normalize("NFKC", said))


def digits(text: str) -> str:
    """Every digit said in `text`, in order (the tests' view of what a line gives away)."""
    return "".join(r.digits for r in runs(text))
