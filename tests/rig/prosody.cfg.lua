-- Private loopback-only Prosody for the integration tests; tests/rig/xmpp.sh fills in @RIG@ and the ports.
-- As root: run_as_root = true is REQUIRED; without it mod_posix logs "Danger, Will Robinson!",
-- "Refusing to run as root" and then HANGS (0.12.3 shutdown bug) instead of exiting.
-- Non-root alternative (verified): drop run_as_root, chown -R prosody: the dir holding data_path,
-- pidfile and log, then:  setpriv --reuid=prosody --regid=prosody --init-groups prosody -F --config FILE
-- (setpriv execs, so $! is prosody's PID; runuser stays as parent).
run_as_root = true
pidfile   = "@RIG@/prosody/prosody.pid"
data_path = "@RIG@/prosody/data"
certificates = "@RIG@/prosody/certs"   -- empty dir: no TLS at all (no STARTTLS offered)
admins = { }

log = {
  { levels = { min = "info" }, to = "console" };
  { levels = { min = "info" }, to = "file", filename = "@RIG@/prosody/prosody.log" };
}

-- loopback only, high ports; no s2s, no http
interfaces           = { "127.0.0.1" }
local_interfaces     = { "127.0.0.1" }
c2s_ports            = { @C2S_PORT@ }
c2s_interfaces       = { "127.0.0.1" }
component_ports      = { @COMPONENT_PORT@ }
component_interfaces = { "127.0.0.1" }
s2s_ports            = { }
modules_enabled  = { "roster", "saslauth", "disco", "ping", "register", "offline" }
modules_disabled = { "s2s" }
allow_registration = false

-- plaintext auth on loopback, no TLS
c2s_require_encryption       = false
s2s_require_encryption       = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
storage        = "internal"

-- no per-connection rate limiting for load tests (mod_limits not loaded anyway)

-- big enough for the test that sends a 1 MB chat message (the component cuts it)
c2s_stanza_size_limit = 4 * 1024 * 1024
component_stanza_size_limit = 4 * 1024 * 1024

VirtualHost "localhost"
  authentication = "internal_plain"

-- every login a new customer JID (bench/xmpp.sh, tests/xmpp_crash.sh)
VirtualHost "anon.localhost"
  authentication = "anonymous"
  allow_anonymous_s2s = false

Component "support.localhost"
  component_secret = "s3cret"
