#!/bin/sh
# with-hostname.sh NAME COMMAND... - run under `unshare --uts`: COMMAND sees the host name NAME.
# Sendmail sleeps a minute at every start on a host whose name has no domain (it waits for the
# name to become resolvable); the rig's Sendmail and the programs that run it get a full one.
hostname "$1" && shift && exec "$@"
