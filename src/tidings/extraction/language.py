"""Language of a text the page did not declare: writing system first, then stop words.

Offline and fast (a few microseconds per kilobyte): scripts with one main language
(Greek, Hebrew, Thai, Hangul, kana …) are told by their letters; Latin and Cyrillic text
by which language's most frequent function words it uses. Returns an ISO 639-1 code, or
None when the text is too short or the evidence too thin to say.
"""

from __future__ import annotations

import re
from collections import Counter

_STOP_WORDS = {
    "en": "the of and to in is that for it was on with as are be this by at from have not "
    "but or an they which you his her we has been were their will would there what",
    "de": "der die und in den von zu das mit sich des auf für ist im dem nicht ein eine als "
    "auch es an werden aus er hat dass sie nach wird bei einer um noch wie",
    "fr": "le la les de des et en un une du est que qui dans pour pas sur au avec ce il sont "
    "par plus ne se son mais ou elle nous aux été cette",
    "es": "el la de que y en los las del se por un una con no para es al lo como más pero sus "
    "le ha este entre cuando muy sin sobre también fue está",
    "pt": "o a de que e do da em um para com não uma os no se na por mais as dos como mas foi "
    "ao ele das tem à seu sua ou ser quando muito há nos já está também",
    "it": "il di che e la per un in è non una sono da del della con si le ha gli al dei nel "
    "anche alla come più ma questo delle lo essere",
    "nl": "de het een van en in is dat op te zijn voor met die niet aan er om ook als bij door "
    "maar worden nog wordt naar dan uit",
    "sv": "och i att det som en på är av för med till den har de inte om ett men var jag så "
    "från kan sig vid eller",
    "da": "og i at det er en til på de med for af den har som ikke et der vil kan men fra han "
    "var sig om så også",
    "no": "og i det er til på som en for av med at har ikke den de et om var fra men kan vil "
    "også seg etter ble",
    "pl": "i w na z do że się nie jest to o jak po od za ale co przez tak dla są czy jego tym "
    "jej ich został może",
    "tr": "ve bir bu da de için ile olarak daha çok en gibi ama olan kadar sonra ne var ya "
    "değil her şey göre ise",
    "id": "yang dan di ini itu dengan untuk dari dalam tidak akan pada juga ke ada karena "
    "oleh atau bisa sudah mereka",
    "ro": "și în de la cu nu o un a pe care din mai să este ca pentru sunt fost dar sau se "
    "lui prin",
    "ru": "и в не на что с по как это он к но из у за о от так же то все она был для вы "
    "его только мы бы",
    "uk": "і в на що не з до як це та у за від по але він його для вона було їх також "
    "які цього був",
}
_LANGUAGES_OF: dict[str, tuple[str, ...]] = {}
for _lang, _words in _STOP_WORDS.items():
    for _word in _words.split():
        _LANGUAGES_OF[_word] = (*_LANGUAGES_OF.get(_word, ()), _lang)
_TOKEN = re.compile(r"[^\W\d_]+")

# single-language scripts: (first, last code point, language)
_SCRIPTS = [
    (0x0370, 0x03FF, "el"),
    (0x0590, 0x05FF, "he"),
    (0x0E00, 0x0E7F, "th"),
    (0x0900, 0x097F, "hi"),
    (0x0980, 0x09FF, "bn"),
    (0x10A0, 0x10FF, "ka"),
    (0x0530, 0x058F, "hy"),
    (0x3040, 0x30FF, "ja"),  # kana: Japanese even among Han characters
    (0xAC00, 0xD7AF, "ko"),
    (0x1100, 0x11FF, "ko"),
]
_PERSIAN_LETTERS = set("پچژگی")
SAMPLE_CHARS = 4000
MIN_HITS = 4  # stop words needed before guessing
MIN_MARGIN = 1.3  # the winner's hits over the runner-up's


def _script_language(sample: str) -> str | None:
    letters = [ch for ch in sample if ch.isalpha()]
    if not letters:
        return None
    counts: Counter[str] = Counter()
    han = arabic = 0
    for ch in letters:
        code = ord(ch)
        if code < 0x0370:
            continue
        if 0x4E00 <= code <= 0x9FFF:
            han += 1
            continue
        if 0x0600 <= code <= 0x06FF:
            arabic += 1
            continue
        for first, last, lang in _SCRIPTS:
            if first <= code <= last:
                counts[lang] += 1
                break
    share = len(letters) * 0.3
    if counts.get("ja", 0) > 0.05 * len(letters):
        return "ja"
    if counts:
        lang, n = counts.most_common(1)[0]
        if n >= share:
            return lang
    if han >= share:
        return "zh"
    if arabic >= share:
        return "fa" if sum(ch in _PERSIAN_LETTERS for ch in sample) > 0.02 * arabic else "ar"
    return None


def guess_language(text: str) -> str | None:
    """ISO 639-1 code of `text`'s language, or None when unsure."""
    sample = text[:SAMPLE_CHARS]
    by_script = _script_language(sample)
    if by_script:
        return by_script
    tokens = _TOKEN.findall(sample.casefold())
    if len(tokens) < 2 * MIN_HITS:
        return None
    hits: Counter[str] = Counter()
    for token in tokens:
        hits.update(_LANGUAGES_OF.get(token, ()))
    if not hits:
        return None
    ranked = hits.most_common(2)
    lang, best = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0
    if best < MIN_HITS or best < MIN_MARGIN * runner_up:
        return None
    return lang
