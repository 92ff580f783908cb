"""A real moto S3 server process on 127.0.0.1, for the S3 tests of etcd_backup_target and for the
restore scenario's verifier (standard library only, so both can import it)."""

import socket
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager


def free_port(host="127.0.0.1"):
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@contextmanager
def moto_server(log=subprocess.DEVNULL, seconds=30, host="127.0.0.1", env=None, port=None):
    """Start ``python -m moto.server`` on ``port`` (a free one by default) of ``host`` (loopback, or the
    test network's gateway for the test hosts), with ``env`` (e.g. INITIAL_NO_AUTH_ACTION_COUNT: IAM
    enforced after that many requests); yields its URL, and stops it afterwards."""
    port = port or free_port(host)
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", host, "-p", str(port)],
                              stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + seconds
        while True:
            try:
                socket.create_connection((host, port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the moto server did not start (exit code %s)" % server.poll()) from None
                time.sleep(0.2)
        yield "http://%s:%d" % (host, port)
    finally:
        server.terminate()
        server.wait(10)


@contextmanager
def moto_bucket(bucket, host):
    """A moto server on ``host`` with ``bucket`` made in it: yields {url, s3: a boto3 client of it, stop:
    what takes the server away (an unreachable target), start: what brings a new one, with the bucket
    empty, back at the same URL}, and stops it afterwards."""
    import boto3

    port = free_port(host)
    url = "http://%s:%d" % (host, port)
    client = boto3.client("s3", endpoint_url=url, aws_access_key_id="testing", aws_secret_access_key="testing",
                          region_name="us-east-1")
    with ExitStack() as stack:
        def start():
            stack.enter_context(moto_server(host=host, port=port))
            client.create_bucket(Bucket=bucket)

        start()
        yield dict(url=url, s3=client, stop=stack.close, start=start)
