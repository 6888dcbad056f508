"""The ingest pipeline and the inputs it reads."""

from .ingest import Ingestor, NotAnArticle, Unreadable, embed_text, extract_page, to_article
from .inputs import iter_inputs, make_fetcher

__all__ = [
    "Ingestor",
    "NotAnArticle",
    "Unreadable",
    "embed_text",
    "extract_page",
    "iter_inputs",
    "make_fetcher",
    "to_article",
]
