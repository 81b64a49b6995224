"""The pure pipeline: imaging, detection, alignment, embedding, clustering. No Qt, no torch."""
