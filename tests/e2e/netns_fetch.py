#!/usr/bin/env python3
"""Fetches an HTTP URL and prints "<bytes> <sha256>", or stops after ABORT_AFTER bytes and
resets the connection (a client that dies mid-transfer). Run inside a network namespace.

  netns_fetch.py URL [ABORT_AFTER]
"""
import hashlib
import socket
import struct
import sys
import urllib.parse

url = urllib.parse.urlsplit(sys.argv[1])
abort_after = int(sys.argv[2]) if len(sys.argv) > 2 else None
s = socket.create_connection((url.hostname, url.port), timeout=60)
s.sendall(f"GET {url.path} HTTP/1.0\r\nHost: {url.hostname}\r\n\r\n".encode())
head = b""
while b"\r\n\r\n" not in head:
    chunk = s.recv(4096)
    if not chunk:
        sys.exit("connection closed before the headers")
    head += chunk
body_start = head.index(b"\r\n\r\n") + 4
h = hashlib.sha256(head[body_start:])
n = len(head) - body_start
while True:
    if abort_after is not None and n >= abort_after:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()  # RST: the stream dies mid-transfer
        print(f"aborted {n}")
        sys.exit(0)
    chunk = s.recv(1 << 16)
    if not chunk:
        break
    h.update(chunk)
    n += len(chunk)
print(n, h.hexdigest())
