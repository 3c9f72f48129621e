"""Replaying captures: readers (JSONL, Parquet; files, directories, globs), the time-ordered
merge, pacing, and the player that feeds records through the same decoder
(:func:`kcap.schemas.wire.decode_frame`) and book builder (:class:`kcap.book.BookBuilder`)
that capture uses live.
"""
