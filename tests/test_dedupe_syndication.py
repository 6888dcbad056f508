"""Copies that a syndicator's encoding or a longer page disguises are still copies."""

from __future__ import annotations

import unicodedata

from tidings import dedupe

# Portuguese with accents and typographic quotes: what a broken or ASCII-only republisher
# turns into other bytes
TEXT = (
    "O professor apresenta, neste vídeo, uma loja incrível nos Estados Unidos, repleta de "
    "materiais didáticos, livros e uma quantidade enorme de recursos educativos para crianças. "
    "Por que não temos uma assim no Brasil? Aqui você tem à disposição materiais voltados à "
    "aquisição da fluência em leitura, com atividades de consciência fonológica e jogos. "
    "“É uma experiência única”, disse a coordenadora, que já visitou a loja três vezes. "
    "Receba em seu email nosso ebook “As 5 Etapas para Alfabetizar seus Filhos em Casa”, "
    "um guia completo e totalmente gratuito para introduzir seus filhos na alfabetização."
)


def _near(a: str, b: str) -> float:
    ka, kb = dedupe.NearDuplicateKey(a), dedupe.NearDuplicateKey(b)
    assert ka.buckets and set(ka.buckets) & set(kb.buckets), "no shared LSH band"
    return dedupe.overlap(ka, kb)


def test_a_mojibake_copy_is_near_identical():
    broken = TEXT.encode("utf-8").decode("cp1252", errors="replace")
    assert "Ã" in broken and "â€" in broken
    assert _near(TEXT, broken) >= 0.8


def test_an_ascii_folded_copy_is_near_identical():
    folded = unicodedata.normalize("NFKD", TEXT.replace("“", '"').replace("”", '"'))
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    assert folded.isascii()
    assert _near(TEXT, folded) >= 0.8
    assert dedupe.content_hash("", folded) == dedupe.content_hash("", TEXT)


def test_decomposed_hangul_is_the_same_text():
    text = "엘제이의 리벤지인가, 류화영의 코스프레인가. 시작은 엘제이의 일방적인 사진 공개."
    assert dedupe.words(unicodedata.normalize("NFD", text)) == dedupe.words(text)


def test_words_keep_plain_text_as_it_was():
    assert dedupe.words("The Doobie Brothers’ 50th tour — in 2020!") == [
        "the", "doobie", "brothers", "50th", "tour", "in", "2020",
    ]


def _article(seed: int, n: int) -> str:
    import random

    rng = random.Random(seed)
    vocab = [f"w{k}" for k in range(3000)]
    return " ".join(rng.choice(vocab) for _ in range(n))


def test_a_copy_with_twice_the_text_is_still_a_candidate():
    """The original page showed only part of the article (pagination, a teaser): the
    syndicated copy contains all of it plus as much again. Jaccard is ~0.4 there, where
    32 bands of 4 rows find the pair only 3 times in 4."""
    found = 0
    for seed in range(40):
        short = _article(seed, 300)
        long_ = short + " " + _article(1000 + seed, 380)
        ka, kb = dedupe.NearDuplicateKey(short), dedupe.NearDuplicateKey(long_)
        found += bool(set(ka.buckets) & set(kb.buckets))
        assert dedupe.overlap(ka, kb) >= 0.99
    assert found >= 39


def test_unrelated_texts_rarely_share_a_band():
    keys = [dedupe.NearDuplicateKey(_article(500 + s, 300)) for s in range(60)]
    shared = sum(
        bool(set(a.buckets) & set(b.buckets)) for i, a in enumerate(keys) for b in keys[i + 1 :]
    )
    assert shared <= 2


def test_cyrillic_mojibake_with_c1_controls_is_repaired():
    text = "Самые популярные кулинарные блоги и фудблогеры в инстаграм: список из десяти."
    broken = "".join(
        bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in text.encode("utf-8")
    )
    assert dedupe.words(broken) == dedupe.words(text)
