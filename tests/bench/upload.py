#!/usr/bin/env python3
"""Upload the bench's files to dgfsd, one chunk each, and list them.

    upload.py URL ADMIN_KEY_FILE DATA_DIR

Every file DATA_DIR/WORKLOAD/NAME becomes the file bench/WORKLOAD/NAME,
made of one chunk (PUT /chunks/ID, then POST ?commit): a 1 MiB file is one
1 MiB chunk whatever FastCDC would cut, so a 1 MiB fast-path read and a
1 MiB HTTP GET read the same file. Prints "WORKLOAD NAME ID SIZE" a file.
One keep-alive connection: uploads are set-up, not what is measured.
"""
import hashlib
import http.client
import json
import os
import sys
import urllib.parse

url, keyfile, data = sys.argv[1:4]
u = urllib.parse.urlsplit(url)
key = open(keyfile).read().strip()
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
auth = {"Authorization": "Bearer " + key}


def call(method, path, body, ok):
    conn.request(method, path, body=body, headers=auth)
    r = conn.getresponse()
    r.read()
    if r.status not in ok:
        sys.exit("upload.py: %s %s: %d %s" % (method, path, r.status, r.reason))


for workload in sorted(os.listdir(data)):
    for name in sorted(os.listdir(os.path.join(data, workload))):
        blob = open(os.path.join(data, workload, name), "rb").read()
        cid = hashlib.sha256(blob).hexdigest()
        call("PUT", "/chunks/" + cid, blob, (200, 201, 204))
        call("POST", "/files/bench/%s/%s?commit" % (workload, name),
             json.dumps({"chunks": [cid]}), (200, 201))
        print(workload, name, cid, len(blob))
