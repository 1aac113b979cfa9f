#!/usr/bin/python3
"""mailbox.py MAILDIR [ADDRESS] - the mails delivered to ADDRESS (all when omitted) as JSON:
a list of {file, headers: {name: [decoded values]}, raw_headers: {...}, body: text,
attachments: [{name, type, size, sha256}]}.
Used by the integration tests to assert what a user would see in a mailbox."""
import email
import email.policy
import hashlib
import json
import os
import sys

maildir, address = sys.argv[1], (sys.argv[2].lower() if len(sys.argv) > 2 else None)
out = []
new = os.path.join(maildir, "new")
for name in sorted(os.listdir(new)) if os.path.isdir(new) else []:
    path = os.path.join(new, name)
    with open(path, "rb") as f:
        raw = f.read()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    # the Sendmail rig's local mailer knows only the recipient's local part
    delivered_to = str(msg.get("Delivered-To", "")).lower()
    if address and delivered_to not in (address, address.split("@")[0]):
        continue
    headers, raw_headers = {}, {}
    for k, v in msg.items():
        headers.setdefault(k.lower(), []).append(str(v))
    for k, v in email.message_from_bytes(raw, policy=email.policy.compat32).items():
        raw_headers.setdefault(k.lower(), []).append(v)
    part = msg.get_body(preferencelist=("plain", "html"))
    body = part.get_content() if part is not None else ""
    files = []
    for a in msg.iter_attachments() if msg.is_multipart() else []:
        data = a.get_payload(decode=True) or b""
        files.append({"name": a.get_filename(), "type": a.get_content_type(), "size": len(data),
                      "sha256": hashlib.sha256(data).hexdigest()})
    out.append({"file": path, "headers": headers, "raw_headers": raw_headers, "body": body,
                "attachments": files})
json.dump(out, sys.stdout, ensure_ascii=False)
