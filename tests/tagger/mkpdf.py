#!/usr/bin/env python3
# mkpdf.py OUT LINE...: a minimal valid one-page PDF (PDF 1.4, Helvetica,
# one text line per argument, ASCII without parentheses or backslashes),
# written by hand so the test needs no PDF tool: its words are known.
import sys

lines = sys.argv[2:]
content = "BT /F1 14 Tf 72 720 Td 18 TL " + " ".join("(%s) '" % l for l in lines) + " ET"
objs = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]"
    " /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    "<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
]
out = bytearray(b"%PDF-1.4\n")
offsets = []
for i, obj in enumerate(objs, 1):
    offsets.append(len(out))
    out += b"%d 0 obj\n%s\nendobj\n" % (i, obj.encode())
xref = len(out)
out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
for off in offsets:
    out += b"%010d 00000 n \n" % off
out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
with open(sys.argv[1], "wb") as f:
    f.write(out)
