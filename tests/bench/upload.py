#!/usr/bin/env python3
"""Upload the bench's files to dgfsd, one chunk each, and list them.

    upload.py URL ADMIN_KEY_FILE DATA_DIR

Every file DATA_DIR/WORKLOAD/NAME becomes the file bench/WORKLOAD/NAME,
made of one chunk (PUT /chunks/ID, then POST ?commit): a 1 MiB file is one
1 MiB chunk whatever FastCDC would cut, so a 1 MiB fast-path read and a
1 MiB HTTP GET read the same file. Prints "WORKLOAD NAME ID SIZE" a file.
A few keep-alive connections at once: each chunk and commit waits on
dgfsd's fsyncs, which a TCG guest's virtual disk makes slow.
"""
import concurrent.futures
import hashlib
import http.client
import json
import os
import sys
import threading
import urllib.parse

PARALLEL = 4

url, keyfile, data = sys.argv[1:4]
u = urllib.parse.urlsplit(url)
auth = {"Authorization": "Bearer " + open(keyfile).read().strip()}
local = threading.local()


def call(method, path, body, ok):
    if not hasattr(local, "conn"):
        local.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    local.conn.request(method, path, body=body, headers=auth)
    r = local.conn.getresponse()
    r.read()
    if r.status not in ok:
        raise RuntimeError("%s %s: %d %s" % (method, path, r.status, r.reason))


def upload(job):
    workload, name = job
    blob = open(os.path.join(data, workload, name), "rb").read()
    cid = hashlib.sha256(blob).hexdigest()
    call("PUT", "/chunks/" + cid, blob, (200, 201, 204))
    call("POST", "/files/bench/%s/%s?commit" % (workload, name),
         json.dumps({"chunks": [cid]}), (200, 201))
    return "%s %s %s %d" % (workload, name, cid, len(blob))


jobs = [(w, n) for w in sorted(os.listdir(data)) for n in sorted(os.listdir(os.path.join(data, w)))]
try:
    with concurrent.futures.ThreadPoolExecutor(PARALLEL) as pool:
        for line in pool.map(upload, jobs):
            print(line)
except (RuntimeError, OSError) as e:
    sys.exit("upload.py: %s" % e)
