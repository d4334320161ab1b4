"""The manifest of a sharded database: what it is and how ids find shards.

A sharded database is a directory holding ``MANIFEST.json`` and one ordinary
iqdb database per shard (``shard-0000.iqdb`` with its ``.wal``, and so on).
The manifest is written once, when the database is created, by writing a
temporary file, syncing it, renaming it over the name and syncing the
directory, so a crash leaves either no manifest or a whole one.
"""

import dataclasses
import json
import os

from iqdb import _errors
from iqdb.distributed import _routing

FORMAT = "iqdb-sharded"
VERSION = 1
MANIFEST = "MANIFEST.json"


@dataclasses.dataclass(frozen=True)
class Manifest:
    """dim, metric, index and its knobs, the options every shard is opened with, shards, routing."""

    dim: int
    metric: str
    index: str
    shards: int
    index_params: dict = dataclasses.field(default_factory=dict)
    options: dict = dataclasses.field(default_factory=dict)
    routing: str = _routing.RULE

    def shard_file(self, directory, shard):
        """The path of shard `shard`'s database file."""
        return os.path.join(directory, f"shard-{shard:04d}.iqdb")

    def open_arguments(self):
        """Keyword arguments for iqdb.open() that give a shard this manifest's shape."""
        return dict(dim=self.dim, metric=self.metric, index=self.index, **self.options, **self.index_params)

    def to_json(self):
        return json.dumps({"format": FORMAT, "version": VERSION, "dim": self.dim, "metric": self.metric,
                           "index": self.index, "index_params": self.index_params, "options": self.options,
                           "shards": self.shards, "routing": self.routing}, indent=2, sort_keys=True)

    @staticmethod
    def from_json(text, where):
        try:
            raw = json.loads(text)
        except ValueError as e:
            raise _errors.Corruption(f"{where}: not a manifest ({e})") from None
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise _errors.Corruption(f"{where}: not an iqdb sharded-database manifest")
        if raw.get("version") != VERSION:
            raise _errors.Unsupported(f"{where}: manifest version {raw.get('version')!r}; this build reads {VERSION}")
        missing = [f for f in ("dim", "metric", "index", "shards", "index_params", "options", "routing")
                   if f not in raw]
        if missing:
            raise _errors.Corruption(f"{where}: manifest lacks {', '.join(missing)}")
        if raw.get("routing") != _routing.RULE:
            raise _errors.Unsupported(f"{where}: unknown routing rule {raw.get('routing')!r}")
        try:
            manifest = Manifest(dim=raw["dim"], metric=raw["metric"], index=raw["index"], shards=raw["shards"],
                                index_params=dict(raw["index_params"]), options=dict(raw["options"]))
        except (KeyError, TypeError) as e:
            raise _errors.Corruption(f"{where}: manifest lacks a field ({e})") from None
        for name in ("dim", "shards"):
            value = getattr(manifest, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise _errors.Corruption(f"{where}: manifest {name} {value!r} is not a positive integer")
        return manifest


def read(directory):
    """The manifest in `directory`; iqdb.NotFound when there is none."""
    where = os.path.join(directory, MANIFEST)
    try:
        with open(where, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise _errors.NotFound(f"{directory}: no sharded iqdb database here ({MANIFEST} missing)") from None
    except OSError as e:
        raise _errors.IOError(f"{where}: {e.strerror}") from None
    return Manifest.from_json(text, where)


def write(directory, manifest):
    """Writes `manifest` into `directory` atomically; iqdb.InvalidArgument if one is already there."""
    where = os.path.join(directory, MANIFEST)
    tmp = where + ".tmp"
    try:
        os.makedirs(directory, exist_ok=True)
        if os.path.exists(where):
            raise _errors.InvalidArgument(f"{directory}: a sharded database already exists here; open it instead")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(manifest.to_json())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, where)
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as e:
        raise _errors.IOError(f"{where}: {e.strerror}") from None
