"""How citizens of Indramayu write: words, spellings, affixes, and what a message is.

Complaints arrive in informal Indonesian, with chat abbreviations (jln, gg., udh),
local spellings (ngocor, mampet, byar pet) and some Javanese (Dermayon) and Sundanese
words. `stems` turns a text into the root words the category matcher compares, so
that "jalannya berlubang" and "jalan lubang" read the same; `message_kind` tells a
greeting, a thank-you or a suspicious message (links, bank accounts, pulsa) from a
complaint.
"""

from __future__ import annotations

import functools
import re
from functools import lru_cache

from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

_WORD = re.compile(r"[0-9a-z]+")

# Spellings and abbreviations -> the standard word (before stemming). Multi-word
# entries ("byar pet") are joined first. Javanese (jv) and Sundanese (su) words that
# people in Indramayu use in complaints are mapped to their Indonesian meaning.
SPELLINGS: dict[str, str] = {
    # chat abbreviations
    "jl": "jalan",
    "jln": "jalan",
    "jlan": "jalan",
    "gg": "gang",
    "ds": "desa",
    "kec": "kecamatan",
    "kab": "kabupaten",
    "tdk": "tidak",
    "gak": "tidak",
    "ga": "tidak",
    "gk": "tidak",
    "nggak": "tidak",
    "ngga": "tidak",
    "enggak": "tidak",
    "engga": "tidak",
    "ndak": "tidak",
    "nda": "tidak",
    "tak": "tidak",
    "udah": "sudah",
    "udh": "sudah",
    "sdh": "sudah",
    "dah": "sudah",
    "blm": "belum",
    "blum": "belum",
    "yg": "yang",
    "dgn": "dengan",
    "krn": "karena",
    "bgt": "sangat",
    "banget": "sangat",
    "lg": "lagi",
    "sy": "saya",
    "kmi": "kami",
    "puskes": "puskesmas",
    "difogging": "fogging",
    "rsu": "rsud",
    "gila": "odgj",
    "ektp": "ktp",
    # informal spellings
    "ngalir": "alir",
    "ngocor": "kucur",
    "ngucur": "kucur",
    "mampet": "sumbat",
    "mampat": "sumbat",
    "buntu": "sumbat",
    "byarpet": "padam",
    "antri": "antre",
    "antrian": "antrean",
    "ngantri": "antre",
    "ngantre": "antre",
    "bolong": "lubang",
    "lobang": "lubang",
    "item": "hitam",
    "ambles": "amblas",
    "ambrol": "amblas",
    "ambruk": "roboh",
    "mati2an": "padam",
    "lampune": "lampu",
    "kotor2": "kotor",
    "pungli": "pungutan",
    # Javanese (Dermayon) -> Indonesian
    "dalan": "jalan",
    "banyu": "air",
    "uwuh": "sampah",
    "peteng": "gelap",
    "kobong": "bakar",
    "ora": "tidak",
    "laka": "tidak",
    "durung": "belum",
    "wis": "sudah",
    "uwis": "sudah",
    "rusake": "rusak",
    "bocore": "bocor",
    "kalen": "selokan",
    "sawahe": "sawah",
    # Sundanese -> Indonesian
    "cai": "air",
    "runtah": "sampah",
    "caah": "banjir",
    "poek": "gelap",
    "teu": "tidak",
    "acan": "belum",
    "solokan": "selokan",
}
PHRASE_SPELLINGS: dict[tuple[str, ...], str] = {
    ("byar", "pet"): "padam",
    ("e", "ktp"): "ktp",
    ("wi", "fi"): "wifi",
    ("mati", "mati"): "mati",
}

_STEMMER = StemmerFactory().create_stemmer()


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The root of one lower-case word (Sastrawi: -nya, -kan, -an, di-, ter-, me-, pe- …);
    words outside its dictionary (pdam, pju) come back as they are."""
    if len(word) <= 3 or word.isdecimal():
        return word
    return str(_STEMMER.stem(word)) or word


def words(text: str) -> list[str]:
    """Lower-case words of `text` with spellings and abbreviations made standard."""
    raw = _WORD.findall(text.lower())
    joined: list[str] = []
    index = 0
    while index < len(raw):
        pair = tuple(raw[index : index + 2])
        if pair in PHRASE_SPELLINGS:
            joined.append(PHRASE_SPELLINGS[pair])
            index += 2
            continue
        joined.append(SPELLINGS.get(raw[index], raw[index]))
        index += 1
    return joined


def stems(text: str) -> list[str]:
    """The root words of `text`, in order: what the category matcher compares."""
    return [stem(word) for word in words(text)]


# --------------------------------------------------------------------------
# Not a complaint: greetings, thanks, suspicious messages
# --------------------------------------------------------------------------

GREETING = "greeting"
THANKS = "thanks"
SUSPICIOUS = "suspicious"
TEXT = "text"


# Words a greeting is made of ("Assalamualaikum wr wb, selamat pagi pak admin").
def word_set(text: str) -> frozenset[str]:
    """The words of a text written as a list separated by spaces."""
    return frozenset(text.split())


_GREETING_WORDS = word_set(
    """
    halo hallo helo hello hai hay hi hei hey pagi siang sore malam selamat met
    assalamualaikum assalamu alaikum assalaamu alaikum asalamualaikum assalammualaikum
    salam sejahtera waalaikumsalam wassalamualaikum wr wb warahmatullahi wabarakatuh
    warahmatullah wabarakatuhu om swastiastu shalom namo buddhaya punten sampurasun
    permisi maaf mengganggu ganggu ijin izin tanya nanya bertanya mau ingin boleh numpang
    sugeng enjing rahayu
    pak bu bapak ibu pa bpk kak kakak mas mbak mba min admin mimin sobat bos gan
    semua semuanya sekalian kabar apa baik ya yah nih dong nggih njih
    p ping tes test testing
    """
)
_THANKS_PHRASES = (
    ("terima", "kasih"),
    ("terimakasih",),
    ("makasih",),
    ("makasi",),
    ("trimakasih",),
    ("trims",),
    ("thanks",),
    ("thank", "you"),
    ("thx",),
    ("matur", "nuwun"),
    ("hatur", "nuhun"),
    ("nuhun",),
    ("suwun",),
)
# A thank-you may say what went well; it must not also say what is still wrong.
_STILL_WRONG = word_set(
    "belum tidak masih tapi tetapi namun mohon tolong kapan kenapa mengapa lagi rusak "
    "padahal segera harap minta"
)
_THANKS_FILLER = word_set(
    """
    atas bantuan bantuannya respon responnya tanggapan tanggapannya perhatian
    perhatiannya kerja kerjanya pelayanan pelayanannya informasi infonya info
    sudah telah sekarang akhirnya alhamdulillah sangat banyak sekali semua nya
    cepat cepatnya tanggap sukses terus semoga berkah lancar mantap luar biasa
    """
)
_LINK = re.compile(r"https?://|www\.|\b[a-z0-9-]+\.(?:com|id|net|org|xyz|info|ly|me|link)\b/?")
_LONG_NUMBER = re.compile(r"\d[\d .-]{8,}\d")
# Scam and spam: words that are suspicious on their own, and words that are suspicious
# beside them or beside a long number ("no rek BRI 0123 4567 89").
_SCAM_WORDS = word_set(
    "pulsa hadiah undian pemenang voucher pinjol slot gacor togel jackpot deposit maxwin judi"
)
_MONEY_WORDS = word_set("rekening rek norek tf transfer saldo bca bri bni mandiri ovo gopay dana")


def _contains(spaced: str, phrase: tuple[str, ...]) -> bool:
    """Whether the words of `phrase` follow each other in `spaced` (the message's words,
    each between spaces)."""
    return f" {' '.join(phrase)} " in spaced


@functools.lru_cache(maxsize=512)  # pure; the conversation asks twice of one message
def message_kind(text: str) -> str:
    """What an idle citizen's text is: GREETING (only greeting words, however long),
    THANKS (a thank-you that says nothing is still wrong), SUSPICIOUS (a link; scam
    words such as pulsa, hadiah, undian beside money words or a long number; a bank
    account number), or TEXT."""
    tokens = words(text)
    if not tokens:
        return TEXT
    if all(token in _GREETING_WORDS for token in tokens):
        return GREETING
    lowered = text.lower()
    scam = sum(token in _SCAM_WORDS for token in tokens)
    money = any(token in _MONEY_WORDS for token in tokens)
    number = _LONG_NUMBER.search(lowered) is not None
    if _LINK.search(lowered) or (scam and (scam >= 2 or money or number)) or (money and number):
        return SUSPICIOUS
    spaced = f" {' '.join(tokens)} "
    thanked = [phrase for phrase in _THANKS_PHRASES if _contains(spaced, phrase)]
    if thanked and not any(token in _STILL_WRONG for token in tokens):
        said = {word for phrase in thanked for word in phrase}
        rest = [
            t
            for t in tokens
            if t not in said and t not in _GREETING_WORDS and t not in _THANKS_FILLER
        ]
        # "terima kasih, jalannya sudah diperbaiki": what is left names what was done
        if len(rest) <= 6:
            return THANKS
    return TEXT
