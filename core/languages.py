"""The transcription languages a team may ask Twilio for (issue 23).

Twilio's Real-Time Transcription takes `LanguageCode` in BCP 47 (the Calls
Transcriptions resource in twilio_api_v2010.json; the `<Transcription>` TwiML
page, https://www.twilio.com/docs/voice/twiml/transcription, `languageCode`),
and what it accepts is what its engine offers: `transcriptionEngine` is
`google` (the default, `speechModel` `telephony` by default) or `deepgram`.
A code Twilio does not take fails only when a call is first transcribed (a
`transcription-error`, on a live call, in front of a supervisor), so the
roster is checked at load against this list instead, and refused with one line
naming the team and the code.

The list is the languages Twilio's Real-Time Transcription lists for its
engines, in the spelling Twilio takes (`ja-JP`, not `ja_JP` or `JA-jp`: a
code is compared as written, since Twilio passes it to the engine as given).

For Japanese on a real account: the `google` engine's `telephony` model takes
`ja-JP` and is tuned for 8 kHz phone audio (Twilio's default engine and model,
so Earpiece sends nothing more); Deepgram's `nova-3` also has a Japanese model
(`ja`), for an account that prefers it. Earpiece sends `LanguageCode` only;
engine and model stay Twilio's defaults.
"""

from __future__ import annotations

# Google Speech-to-Text languages Twilio's Real-Time Transcription offers (BCP 47), and
# Deepgram's codes (two-letter ones among them) for a Deepgram account.
TRANSCRIPTION_LANGUAGES: frozenset[str] = frozenset(
    """
    af-ZA am-ET ar-AE ar-BH ar-DZ ar-EG ar-IL ar-IQ ar-JO ar-KW ar-LB ar-MA ar-OM ar-PS
    ar-QA ar-SA ar-TN ar-YE az-AZ bg-BG bn-BD bn-IN bs-BA ca-ES cs-CZ da-DK de-AT de-CH
    de-DE el-GR en-AU en-CA en-GB en-GH en-HK en-IE en-IN en-KE en-NG en-NZ en-PH en-PK
    en-SG en-TZ en-US en-ZA es-AR es-BO es-CL es-CO es-CR es-DO es-EC es-ES es-GT es-HN
    es-MX es-NI es-PA es-PE es-PR es-PY es-SV es-US es-UY es-VE et-EE eu-ES fa-IR fi-FI
    fil-PH fr-BE fr-CA fr-CH fr-FR gl-ES gu-IN he-IL hi-IN hr-HR hu-HU hy-AM id-ID is-IS
    it-CH it-IT ja-JP jv-ID ka-GE kk-KZ km-KH kn-IN ko-KR lo-LA lt-LT lv-LV mk-MK ml-IN
    mn-MN mr-IN ms-MY my-MM ne-NP nl-BE nl-NL no-NO pa-Guru-IN pl-PL pt-BR pt-PT ro-RO
    ru-RU si-LK sk-SK sl-SI sq-AL sr-RS su-ID sv-SE sw-KE sw-TZ ta-IN ta-LK ta-MY ta-SG
    te-IN th-TH tr-TR uk-UA ur-IN ur-PK uz-UZ vi-VN yue-Hant-HK zh-TW zu-ZA
    cmn-Hans-CN cmn-Hant-TW
    bg cs da de en es fi fr hi hu id it ja ko nl no pl pt ru sv th tr uk vi zh
    """.split()  # noqa: SIM905 (a list of 170 codes reads better as words)
)
DEFAULT_LANGUAGE = "en-US"


def is_offered(code: str) -> bool:
    return code in TRANSCRIPTION_LANGUAGES


def primary(code: str) -> str:
    """The language without its region: `ja-JP` -> `ja` (how phrases and search pick a script)."""
    return code.split("-", 1)[0].lower()
