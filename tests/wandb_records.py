"""Read an offline W&B run back as W&B stores it: the records (wandb's protobuf `Record`) of its .wandb log."""

import json
import struct
import time
from pathlib import Path

BLOCK, HEADER = 32768, 7   # the log's block size and record header (crc32, length, type), as wandb writes them
FULL, FIRST, LAST = 1, 2, 4


def records(path: Path) -> list:
    from wandb.proto import wandb_internal_pb2 as pb

    data = Path(path).read_bytes()
    ident, magic, _ = struct.unpack("<4sHB", data[:HEADER])
    assert ident == b":W&B" and magic == 0xBEE1, path
    out, pos, buf = [], HEADER, b""
    while pos + HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        _, length, kind = struct.unpack("<IHB", data[pos:pos + HEADER])
        if left < HEADER or (kind == 0 and length == 0):   # the rest of a block is padding
            pos += left
            continue
        chunk = data[pos + HEADER:pos + HEADER + length]
        pos += HEADER + length
        buf = chunk if kind in (FULL, FIRST) else buf + chunk
        if kind in (FULL, LAST):
            record = pb.Record()
            record.ParseFromString(buf)
            out.append(record)
    return out


class OfflineRun:
    """What W&B would show of one offline run: config, name, group, tags, history rows, summary, artifacts, exit."""

    def __init__(self, path: Path):
        recs = records(path)
        runs = [r.run for r in recs if r.WhichOneof("record_type") == "run"]
        self.name, self.group = runs[0].display_name, runs[0].run_group
        self.tags = list(runs[-1].tags)
        self.config = {u.key: json.loads(u.value_json) for r in runs for u in r.config.update}
        self.history = [{_key(i): json.loads(i.value_json) for i in r.history.item if not _key(i).startswith("_")}
                        for r in recs if r.WhichOneof("record_type") == "history"]
        self.summary = {}
        for r in recs:
            if r.WhichOneof("record_type") == "summary":
                self.summary.update({_key(u): json.loads(u.value_json) for u in r.summary.update})
        self.metrics = [r.metric for r in recs if r.WhichOneof("record_type") == "metric"]
        self.artifacts = [r.artifact for r in recs if r.WhichOneof("record_type") == "artifact"]
        self.used = [r.request.use_artifact for r in recs if r.WhichOneof("record_type") == "request"
                     and r.request.WhichOneof("request_type") == "use_artifact"]
        self.exit_code = next(r.exit.exit_code for r in recs if r.WhichOneof("record_type") == "exit")


def _key(item) -> str:
    return item.key or "/".join(item.nested_key)


def offline_runs(folder: Path, timeout: float = 30.0) -> list[OfflineRun]:
    """Every offline run under folder/wandb, oldest first, once each has written its exit record
    (wandb-core, a separate process, may still be writing when finish() returns)."""
    deadline = time.time() + timeout
    while True:
        logs = sorted(Path(folder).glob("wandb/offline-run-*/run-*.wandb"))
        try:
            return [OfflineRun(p) for p in logs]
        except (StopIteration, IndexError):   # a log not yet written through
            if time.time() > deadline:
                raise
            time.sleep(0.2)
