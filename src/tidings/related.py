"""Related articles: the nearest originals by meaning, never the article itself or its copies;
those in the same story are marked."""

from __future__ import annotations

from .models import Hit
from .search import check_limit, hits


class Related:
    def __init__(self, store, vectors, default_limit: int):
        self.store = store
        self.vectors = vectors
        self.default_limit = default_limit

    def related(self, article_id: int, limit: int | None = None) -> list[Hit]:
        limit = check_limit(limit, self.default_limit)
        article = (
            self.store.articles([article_id], text=False).get(article_id)
            if isinstance(article_id, int)
            else None
        )
        if article is None:
            raise KeyError(article_id)
        self.vectors.sync()
        if article.duplicate_of is None:
            original_id, original = article.id, article
        else:
            original_id = self.store.root_of(article.id)
            original = self.store.articles([original_id], text=False).get(original_id)
        vector = self.store.embeddings([original_id]).get(original_id)
        if vector is None or self.vectors.index is None:
            return []
        found = [(i, s) for i, s in self.vectors.search(vector, limit + 1) if i != original_id]
        story_id = original.story_id if original else None
        return [
            Hit(
                hit.article,
                hit.score,
                same_story=story_id is not None and hit.article.story_id == story_id,
                also_published_by=hit.also_published_by,
            )
            for hit in hits(self.store, found[:limit])
        ]
