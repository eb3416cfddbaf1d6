#!/usr/bin/env python3
"""Minimal S3 client with a hand-written AWS SigV4 signer (stdlib only), for tests/images.

  s3check.py ENDPOINT ACCESS_KEY SECRET_KEY COMMAND [ARGS...]

Commands (each prints the HTTP status, and the body for get/presign-get/list):
  mkbucket BUCKET            PUT /BUCKET
  put BUCKET KEY TEXT        PUT with x-amz-content-sha256 = hex sha256 of the body
  put-chunked BUCKET KEY TEXT  PUT of TEXT x 5000 as STREAMING-AWS4-HMAC-SHA256-PAYLOAD
  put-trailer BUCKET KEY TEXT  PUT of TEXT as STREAMING-UNSIGNED-PAYLOAD-TRAILER with a checksum trailer
  put-unsigned BUCKET KEY TEXT PUT with UNSIGNED-PAYLOAD
  put-badhash BUCKET KEY TEXT  PUT whose declared sha256 is not the body's
  get BUCKET KEY             signed GET
  list BUCKET                signed GET /BUCKET?list-type=2
  presign-get BUCKET KEY     GET through a presigned URL
  presign-expired BUCKET KEY GET through a presigned URL that expired
"""
import base64
import datetime
import hashlib
import hmac
import http.client
import sys
import urllib.parse
import zlib

REGION = "us-east-1"


def sha(b):
    return hashlib.sha256(b).hexdigest()


def enc(s):
    return urllib.parse.quote(s, safe="-_.~")


class Signer:
    def __init__(self, host, ak, sk):
        self.host, self.ak, self.sk = host, ak, sk
        self.now = datetime.datetime.now(datetime.timezone.utc)
        self.amz_date = self.now.strftime("%Y%m%dT%H%M%SZ")
        self.date = self.amz_date[:8]
        self.scope = f"{self.date}/{REGION}/s3/aws4_request"
        k = ("AWS4" + sk).encode()
        for part in (self.date, REGION, "s3", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        self.key = k

    def sign(self, text):
        return hmac.new(self.key, text.encode(), hashlib.sha256).hexdigest()

    def signature(self, method, path, query, headers, payload):
        cq = "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(query))
        names = sorted(headers)
        creq = "\n".join([method, "/".join(enc(p) for p in path.split("/")), cq]
                         + [f"{n}:{headers[n].strip()}" for n in names] + ["", ";".join(names), payload])
        sts = "\n".join(["AWS4-HMAC-SHA256", self.amz_date, self.scope, sha(creq.encode())])
        return ";".join(names), self.sign(sts)

    def header_auth(self, method, path, query, payload_hash, extra=None):
        headers = {"host": self.host, "x-amz-date": self.amz_date, "x-amz-content-sha256": payload_hash}
        headers.update(extra or {})
        signed, sig = self.signature(method, path, query, headers, payload_hash)
        headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={self.ak}/{self.scope}, "
                                    f"SignedHeaders={signed}, Signature={sig}")
        return headers, sig

    def presign(self, method, path, expires=300, when=None):
        if when:  # sign as if at another time
            self.amz_date = when.strftime("%Y%m%dT%H%M%SZ")
        query = [("X-Amz-Algorithm", "AWS4-HMAC-SHA256"), ("X-Amz-Credential", f"{self.ak}/{self.scope}"),
                 ("X-Amz-Date", self.amz_date), ("X-Amz-Expires", str(expires)), ("X-Amz-SignedHeaders", "host")]
        _, sig = self.signature(method, path, query, {"host": self.host}, "UNSIGNED-PAYLOAD")
        return path + "?" + urllib.parse.urlencode(query + [("X-Amz-Signature", sig)], quote_via=urllib.parse.quote)


def chunked_body(signer, seed, data, chunk=64 * 1024):
    out, prev = b"", seed
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b""]
    for p in pieces:
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", signer.amz_date, signer.scope, prev, sha(b""), sha(p)])
        prev = signer.sign(sts)
        out += f"{len(p):x};chunk-signature={prev}\r\n".encode() + p + b"\r\n"
    return out


def trailer_body(data):
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    return f"{len(data):x}\r\n".encode() + data + f"\r\n0\r\nx-amz-checksum-crc32:{crc}\r\n\r\n".encode()


def request(endpoint, method, target, headers, body=b""):
    conn = http.client.HTTPConnection(endpoint, timeout=30)
    conn.request(method, target, body=body, headers=headers)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data


def main():
    endpoint, ak, sk, cmd, *args = sys.argv[1:]
    s = Signer(endpoint, ak, sk)
    path = "/" + "/".join(args[:2]) if cmd not in ("mkbucket", "list") else "/" + args[0]
    body, query, target = b"", [], path
    if cmd == "mkbucket":
        method, h = "PUT", s.header_auth("PUT", path, [], sha(b""))[0]
    elif cmd in ("put", "put-badhash"):
        method, body = "PUT", args[2].encode()
        h = s.header_auth("PUT", path, [], sha(body if cmd == "put" else b"something else"))[0]
    elif cmd == "put-unsigned":
        method, body = "PUT", args[2].encode()
        h = s.header_auth("PUT", path, [], "UNSIGNED-PAYLOAD")[0]
    elif cmd == "put-chunked":
        method, data = "PUT", args[2].encode() * 5000  # several 64 KiB chunks
        h, seed = s.header_auth("PUT", path, [], "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", {
            "content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data))})
        body = chunked_body(s, seed, data)
    elif cmd == "put-trailer":
        method, data = "PUT", args[2].encode()
        h = s.header_auth("PUT", path, [], "STREAMING-UNSIGNED-PAYLOAD-TRAILER", {
            "content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)),
            "x-amz-trailer": "x-amz-checksum-crc32"})[0]
        body = trailer_body(data)
    elif cmd == "get":
        method, h = "GET", s.header_auth("GET", path, [], sha(b""))[0]
    elif cmd == "list":
        method, query = "GET", [("list-type", "2")]
        h, target = s.header_auth("GET", path, query, sha(b""))[0], path + "?list-type=2"
    elif cmd in ("presign-get", "presign-expired"):
        method, h = "GET", {}
        when = s.now - datetime.timedelta(hours=1) if cmd == "presign-expired" else None
        target = s.presign("GET", path, expires=60, when=when)
    else:
        sys.exit(f"unknown command {cmd}")
    status, data = request(endpoint, method, target, h, body)
    print(status)
    if cmd in ("get", "presign-get", "list") or status >= 300:
        sys.stdout.write(data.decode(errors="replace") + "\n")


if __name__ == "__main__":
    main()
