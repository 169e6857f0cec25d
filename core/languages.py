"""The transcription languages a team may ask Twilio for (issue 23).

Twilio's Real-Time Transcription takes `LanguageCode` in BCP 47 (the twilio SDK's
Calls Transcriptions create: "Language code used by the transcription engine,
specified in BCP-47 format"; the `<Transcription>` TwiML page,
https://www.twilio.com/docs/voice/twiml/transcription, `languageCode`), and what it
accepts is what its engine offers: `transcriptionEngine` is `google` or `deepgram`
(the same page: "When using either Deepgram or Google as the transcriptionEngine
value"), `speechModel` one of that engine's models. A code Twilio does not take
fails only when a call is first transcribed (a `transcription-error`, on a live
call, in front of a supervisor), so the roster is checked at load against this
list instead, and refused with one line naming the team and the code.

What the docs confirm, and what they do not (checked for issue 23's closing note):

- Twilio's `<Transcription>` page is public, but its attribute table (the allowed
  `languageCode` and `speechModel` values, and which engine and model are the
  defaults) could not be read in the stored copy this was checked against. So this
  list is NOT confirmed against a Twilio page: it is Google Speech-to-Text's BCP 47
  codes and Deepgram's language codes, as Twilio forwards `languageCode` to the
  engine (written as the engine spells it: `ja-JP`, not `ja_JP` or `JA-jp`; a code
  is compared as written). Twilio's one page that does list languages by engine,
  the Transcription Configurations resource
  (https://www.twilio.com/docs/configurations/transcription-configuration-resource),
  is for *batch* transcription, lists sixteen European and English codes and no
  Japanese, and does not govern real-time transcription.
- Japanese on Google: Cloud Speech-to-Text V2's language table
  (https://cloud.google.com/speech-to-text/v2/docs/speech-to-text-supported-languages)
  lists `ja-JP` with the models `long`, `short` and `telephony` (asia-northeast1),
  and not with `telephony_short` (which en-US and ko-KR have). `telephony` is the
  model tuned for phone audio.
- Japanese on Deepgram: `ja` with `nova-2` (Deepgram's changelog of 2024-05-14,
  Nova-2 in 36 languages) and with `nova-3` since its monolingual Japanese model
  (changelog of 2025-11-04; its streaming model improved since), per
  https://developers.deepgram.com/docs/models-languages-overview.

For a Japanese floor on a real account: `ja-JP` with the `google` engine's
`telephony` model (not `telephony_short`); or `ja` with `deepgram` and `nova-3`.
Earpiece sends `LanguageCode` only (no `TranscriptionEngine`, no `SpeechModel`), so
engine and model are whatever Twilio picks by default; a team written `ja` is
accepted, but works only where that engine is Deepgram: write `ja-JP`. Try `ja-JP`
with one test call on the account before a Japanese team goes live (copies of
Twilio's page call the product a Public Beta whose values may change).
"""

from __future__ import annotations

# Google Speech-to-Text's BCP 47 codes, and Deepgram's codes (the two-letter ones) for an
# account whose transcriptions use Deepgram: see the module for what is and is not confirmed.
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
