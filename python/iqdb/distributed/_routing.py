"""Which shard an id lives on.

The rule is part of the on-disk format (the manifest names it), so it never
changes for an existing sharded database and never depends on the process:
Python's own ``hash`` is salted per process and is not used.

``fnv1a64-splitmix``: the id's key bytes are hashed with 64-bit FNV-1a, the
result is passed through the splitmix64 finaliser (so every bit of the key
reaches the low bits), and the shard is that value modulo the shard count.
Key bytes: an integer id (0 <= id < 2**64) is its 8 little-endian bytes; a
byte-string id is its bytes; a str id is its UTF-8 bytes (how the database
stores it). The rule is the same for both kinds of id.
"""

import numpy as np

RULE = "fnv1a64-splitmix"

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK = (1 << 64) - 1


def _finalise(h):
    h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & _MASK
    return h ^ (h >> 31)


def key_bytes(id_):
    """The bytes an id is hashed by; raises TypeError/ValueError for anything that is not an id."""
    if isinstance(id_, (bool, np.bool_)):
        raise TypeError(f"an id is an int, bytes or str, not {type(id_).__name__}")
    if isinstance(id_, (int, np.integer)):
        value = int(id_)
        if not 0 <= value < 1 << 64:
            raise ValueError(f"integer ids are 0 .. 2**64-1, got {value}")
        return value.to_bytes(8, "little")
    if isinstance(id_, (bytes, bytearray, memoryview)):
        return bytes(id_)
    if isinstance(id_, str):
        return id_.encode("utf-8")
    raise TypeError(f"an id is an int, bytes or str, not {type(id_).__name__}")


def hash_id(id_):
    """The 64-bit routing hash of one id."""
    h = _FNV_OFFSET
    for byte in key_bytes(id_):
        h = ((h ^ byte) * _FNV_PRIME) & _MASK
    return _finalise(h)


def _hash_u64_array(ids):
    """hash_id over an array of integer ids, without a Python loop."""
    values = ids.astype(np.uint64, copy=False)
    h = np.full(values.shape, _FNV_OFFSET, dtype=np.uint64)
    prime = np.uint64(_FNV_PRIME)
    with np.errstate(over="ignore"):
        for i in range(8):
            h = (h ^ ((values >> np.uint64(8 * i)) & np.uint64(0xFF))) * prime
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


def shard_of(id_, shards):
    """The shard (0 .. shards-1) that holds `id_`."""
    return hash_id(id_) % shards


def shards_of(ids, shards):
    """The shard of every id of a list or 1-D array, as an int array."""
    if isinstance(ids, np.ndarray) and ids.dtype.kind in "iu":
        if ids.dtype.kind == "i" and ids.size and ids.min() < 0:
            raise ValueError(f"integer ids are 0 .. 2**64-1, got {int(ids.min())}")
        return (_hash_u64_array(ids) % np.uint64(shards)).astype(np.int64)
    return np.fromiter((shard_of(i, shards) for i in ids), dtype=np.int64, count=len(ids))
