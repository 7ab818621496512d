"""Batched uploads to the ingest service."""

from batchkit.batching import chunks, flatten, windows
from batchkit.upload import upload_all

__all__ = ["chunks", "flatten", "upload_all", "windows"]
