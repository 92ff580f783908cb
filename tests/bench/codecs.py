"""The backup seal's compression, measured: ``python3 tests/bench/codecs.py SNAPSHOT``.

Compresses SNAPSHOT (an etcd snapshot of realistic objects: tests/bench/data.sh makes one of pod-like
JSON) a block at a time, as the seal does (module_utils/backup/backup_crypto.py), with zlib at levels
1 to 6 and, where the Python running this can import it (Debian's python3-zstandard), zstd at a few
levels; prints for each the throughput in CPU time (what the codec costs, whatever else the machine
runs) and in wall time, and the compressed size. A benchmark, not a test: it asserts nothing.
"""

import sys
import time
import zlib

BLOCK = 1024 * 1024
MB = 1e6


def zlib_compressor(level):
    return lambda: zlib.compressobj(level)


def zstd_compressor(level):
    import zstandard
    return lambda: zstandard.ZstdCompressor(level=level).compressobj()


def measure(path, make):
    compressor = make()
    size = compressed = 0
    wall, cpu = time.monotonic(), time.process_time()
    with open(path, "rb") as source:
        for block in iter(lambda: source.read(BLOCK), b""):
            size += len(block)
            compressed += len(compressor.compress(block))
    compressed += len(compressor.flush())
    return size, compressed, time.process_time() - cpu, time.monotonic() - wall


def main(path):
    codecs = [("zlib-%d" % level, zlib_compressor(level)) for level in range(1, 7)]
    try:
        import zstandard  # noqa: F401  pylint: disable=unused-import
        codecs += [("zstd-%d" % level, zstd_compressor(level)) for level in (1, 3, 6)]
    except ImportError:
        print("zstd: not measured (no zstandard module for %s)" % sys.executable)
    print("%-8s %12s %8s %12s %12s" % ("codec", "compressed", "ratio", "MB/s (CPU)", "MB/s (wall)"))
    for name, make in codecs:
        size, compressed, cpu, wall = measure(path, make)
        shown = (name, compressed, size / compressed, size / MB / cpu, size / MB / wall)
        print("%-8s %12d %7.2fx %12.1f %12.1f" % shown)


if __name__ == "__main__":
    main(sys.argv[1])
