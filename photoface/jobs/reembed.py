"""Re-embed stored faces that have no vector, or one the current model cannot compare with."""

from __future__ import annotations

import logging
import threading
from collections.abc import Generator
from dataclasses import dataclass

from photoface.core.embed import Embedder
from photoface.core.pipeline import embed_stored_crops
from photoface.library import Library

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbedProgress:
    done: int  # faces embedded so far
    total: int


@dataclass(frozen=True)
class ReembedResult:
    embedded: int
    total: int  # faces that needed it; `total - embedded` still do after a cancel
    model_id: str
    cancelled: bool = False


def reembed(
    library: Library, embedder: Embedder, cancel: threading.Event | None = None, batch: int = 256
) -> Generator[EmbedProgress, None, ReembedResult]:
    """Embed faces from their stored crops (no re-detection), a batch per transaction, so a
    cancel or a kill keeps every batch done."""
    info = embedder.info
    todo = library.faces_to_embed(info.comparable_ids)
    for s in range(0, len(todo), batch):
        if cancel is not None and cancel.is_set():
            return ReembedResult(s, len(todo), info.model_id, cancelled=True)
        ids = todo[s : s + batch]
        library.set_embeddings(ids, embed_stored_crops(embedder, library.crops(ids)), info.model_id)
        yield EmbedProgress(min(s + batch, len(todo)), len(todo))
    return ReembedResult(len(todo), len(todo), info.model_id)
