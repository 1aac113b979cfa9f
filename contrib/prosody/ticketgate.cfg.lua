-- Prosody: put in /etc/prosody/conf.d/ticketgate.cfg.lua, then
--   systemctl reload prosody
--   prosodyctl shell host activate help.example.org
-- (a reload alone starts no new component; `systemctl restart prosody` does both, and
-- disconnects every user for a moment).
-- ticketgate.conf: [xmpp] server = 127.0.0.1, port = 5347, domain = help.example.org,
-- secret_file = /etc/ticketgate/xmpp.secret (the same secret as below).
component_ports = { 5347 }
component_interfaces = { "127.0.0.1" }

Component "help.example.org"
    component_secret = "change-me: the content of /etc/ticketgate/xmpp.secret"
