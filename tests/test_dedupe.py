from tidings import dedupe


def test_canonical_url_folds_spellings_of_one_page():
    same = [
        "https://www.example.com/news/story-1/",
        "http://example.com/news/story-1?utm_source=rss&utm_medium=feed",
        "https://EXAMPLE.com:443/news//story-1#comments",
        "https://example.com/news/story-1/index.html?fbclid=abc",
    ]
    assert len({dedupe.canonical_url(u) for u in same}) == 1
    assert dedupe.canonical_url("https://example.com/a?id=1") != dedupe.canonical_url(
        "https://example.com/a?id=2"
    )


def test_content_hash_ignores_case_spacing_and_punctuation():
    a = dedupe.content_hash("T", "The ferry ran aground.\n\nAll 212 passengers are safe!")
    b = dedupe.content_hash("Other", "the ferry  ran aground -- all 212 passengers are safe")
    assert a == b
    assert a != dedupe.content_hash("T", "The ferry ran aground. Two passengers are missing.")


TEXT = (
    "Rescue crews reached the last four miners trapped at the Copper Ridge mine shortly after "
    "dawn on Thursday, ending a 61-hour operation that drew teams from three provinces. "
    "The men walked out on their own, officials said, and were taken to the regional hospital "
    "for checks. A section of the main haulage tunnel collapsed on Monday evening after a "
    "blast, cutting off the crew at the 400-metre level. Engineers drilled a narrow shaft to "
    "pass air, water and food while a second team cleared rubble by hand."
)


def test_near_duplicate_survives_small_edits_but_not_other_text():
    edited = "Updated with local reaction. " + TEXT.replace("Thursday", "Thursday morning")
    trimmed = TEXT.rsplit(". ", 2)[0]
    a, b, c = (dedupe.NearDuplicateKey(t) for t in (TEXT, edited, trimmed))
    assert a.buckets and set(a.buckets) & set(b.buckets)
    assert dedupe.resemblance(a.shingles, b.shingles) > 0.8
    assert dedupe.resemblance(a.shingles, c.shingles) > 0.8
    other = dedupe.NearDuplicateKey(
        "The central bank of Estova held its benchmark rate at 4.25 percent on Wednesday, "
        "citing sticky services inflation and a weaker currency. Governor Lena Orsk said the "
        "board saw no case for cuts before spring, and markets trimmed bets on an early move. "
        "Mortgage lenders said fixed rates would stay near their highest level in a decade."
    )
    assert dedupe.resemblance(a.shingles, other.shingles) < 0.1


def test_short_texts_are_not_near_duplicate_candidates():
    assert dedupe.NearDuplicateKey("Fed holds rates steady").buckets == []
