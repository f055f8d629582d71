#!/usr/bin/env python3
"""Gives a clean clone's unchanged files back the modification times they had when CI built them.

Cargo decides whether a workspace crate is up to date by its files' modification times: a clean
clone's files are all new, so every crate of the workspace was rebuilt on a warm machine (each
major's extension twice, the front twice, 33 test binaries linked) although most files had not
changed since the last run.

The record (one per cargo target directory, kept in it) holds, for each tracked file, the git
blob of its content and the time it was given when that content first came. A file whose blob is
the one recorded gets that time back; any other keeps its checkout time (now), and is recorded
with it. Why this is safe: a file keeps one recorded time only while its content stays the same
from run to run, so every build newer than that time was made from that content; a build older
than it, from another content, is older than the file and cargo rebuilds it. It holds while only
this record's runs build in that target directory (.ci/run's own, outside any clone).

Usage: source_mtimes.py RECORD   (in the clone's top directory)
"""

import os
import subprocess
import sys


def tracked_blobs():
    """{path: blob} of the files whose content is the index's (clean ones: a clone's are)."""
    out = subprocess.run(["git", "ls-files", "-s", "-z"], check=True, capture_output=True).stdout
    blobs = {}
    for entry in out.split(b"\0"):
        if not entry:
            continue
        meta, path = entry.split(b"\t", 1)
        mode, blob, _stage = meta.split()
        if mode in (b"100644", b"100755"):
            blobs[path] = blob
    # A file edited in the working tree is not its index blob: neither restored nor recorded.
    dirty = subprocess.run(
        ["git", "diff", "--name-only", "-z"], check=True, capture_output=True
    ).stdout.split(b"\0")
    for path in dirty:
        blobs.pop(path, None)
    return blobs


def read_record(path):
    record = {}
    try:
        with open(path, "rb") as f:
            for line in f.read().split(b"\0"):
                if not line:
                    continue
                blob, mtime, name = line.split(b" ", 2)
                record[name] = (blob, int(mtime))
    except (OSError, ValueError):
        return {}
    return record


def main():
    record_path = sys.argv[1]
    record = read_record(record_path)
    restored = 0
    lines = []
    for path, blob in sorted(tracked_blobs().items()):
        if not os.path.isfile(path) or os.path.islink(path):
            continue
        kept = record.get(path)
        if kept and kept[0] == blob:
            os.utime(path, ns=(kept[1], kept[1]))
            restored += 1
        mtime = os.stat(path).st_mtime_ns
        lines.append(b"%s %d %s" % (blob, mtime, path))
    tmp = record_path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(b"\0".join(lines) + b"\0")
    os.replace(tmp, record_path)
    print(
        f"source times: {restored} of {len(lines)} files unchanged since the last run "
        f"in this target directory keep that run's time"
    )


if __name__ == "__main__":
    main()
