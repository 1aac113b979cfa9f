#!/bin/sh
# deliver.sh MAILDIR LOCALPART - the local mailer of the rig's Sendmail: the mail from stdin into
# MAILDIR/new, with a Delivered-To header naming the recipient's local part (all it is given).
set -e
f=$(date +%s%N).$$
mkdir -p "$1/new" "$1/tmp"
{ printf 'Delivered-To: %s\n' "$2"; cat; } > "$1/tmp/$f"
mv "$1/tmp/$f" "$1/new/$f"
