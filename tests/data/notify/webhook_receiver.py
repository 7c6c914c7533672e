#!/usr/bin/env python3
"""A small webhook receiver for the t4 tests: verifies Flywheel's HMAC-SHA256 signature, records every
delivery (one JSON line per request in the log file) and can fail the first N attempts per
idempotency key with HTTP 503, so tests can watch retries, backoff and de-duplication.

usage: webhook_receiver.py PORTFILE LOGFILE SECRET [FAIL_FIRST_N]
Writes the bound port to PORTFILE once listening. Each log line:
  {"key": ..., "event": ..., "sig_ok": true|false, "status": 200|503|401, "duplicate": bool, "body": {...}}
"""
import hashlib, hmac, json, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

portfile, logfile, secret = sys.argv[1], sys.argv[2], sys.argv[3].encode()
fail_first = int(sys.argv[4]) if len(sys.argv) > 4 else 0
lock = threading.Lock()
attempts = {}
delivered = set()
log = open(logfile, "a", buffering=1)


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        key = self.headers.get("Idempotency-Key", "")
        ts = self.headers.get("X-Flywheel-Timestamp", "")
        sig = self.headers.get("X-Flywheel-Signature", "")
        want = "sha256=" + hmac.new(secret, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        sig_ok = hmac.compare_digest(sig, want)
        with lock:
            attempts[key] = attempts.get(key, 0) + 1
            if not sig_ok:
                status = 401
            elif attempts[key] <= fail_first:
                status = 503
            else:
                status = 200
            # One event fanned out to two subscriptions on one receiver arrives at two paths with one key.
            dup = status == 200 and (key, self.path) in delivered
            if status == 200:
                delivered.add((key, self.path))
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
            log.write(json.dumps({"key": key, "event": self.headers.get("X-Flywheel-Event"), "sig_ok": sig_ok,
                                  "status": status, "duplicate": dup, "path": self.path, "body": parsed}) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
