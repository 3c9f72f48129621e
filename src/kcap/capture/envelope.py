"""A frame's envelope, in the one JSON pass the recorder makes over each frame.

:func:`peek` decodes ``type``, ``sid``, ``seq`` and ``id`` (the payload is skipped by msgspec,
validated but not built) and, from the same pass, tells whether the frame can be spliced
verbatim into its capture record. The capture writer uses the second answer to store the
frame, the session the first to track its sid: one parse per frame instead of two.
"""

from __future__ import annotations

import msgspec


class Envelope(msgspec.Struct, gc=False):
    """The envelope of a frame: ``type``, ``sid``, ``seq`` and the command ``id`` (the payload
    is skipped, unparsed)."""

    type: str = ""
    sid: int | None = None
    seq: int | None = None
    id: int | None = None


_decode_envelope = msgspec.json.Decoder(Envelope).decode
_raw_decode = msgspec.json.Decoder(msgspec.Raw).decode
_BLANK = (0x20, 0x09)


def peek(data: bytes) -> tuple[Envelope | None, bool]:
    """One JSON pass over a frame: its envelope, and whether it can be spliced verbatim.

    Returns:
        ``(envelope, spliceable)``: the envelope, or None when the frame is not a JSON object
        with envelope fields of the right types; ``spliceable`` is True when the frame is one
        valid JSON value with no line break and no space around it (the rule of
        :func:`kcap.schemas.record.encode_record`). Never raises.
    """
    try:
        env: Envelope | None = _decode_envelope(data)
    except msgspec.ValidationError:
        # valid JSON so far but the wrong shape: whether the rest is valid is not known yet
        env = None
        try:
            valid = len(_raw_decode(data)) == len(data)
        except msgspec.DecodeError:
            valid = False
        if not valid:
            return None, False
    except msgspec.DecodeError:
        return None, False
    if env is None:  # valid JSON, not an object of the right shape
        splice = data[0] not in _BLANK and data[-1] not in _BLANK
    else:  # an object: no space around it exactly when it starts with { and ends with }
        splice = data[0] == 0x7B and data[-1] == 0x7D
    # no line feed (10), no carriage return (13): ``int in bytes`` is a bare memchr, the fastest
    return env, splice and 10 not in data and 13 not in data
