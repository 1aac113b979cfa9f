#!/usr/bin/env bash
# ticketgate-xmpp under valgrind: the chat scenarios that run the most code (customer intake,
# language tags, agent commands with show (a long ticket too)/list/reply in English and Russian,
# unassigned/take/release (a ticket of an agent who left too, after a reload),
# mail text with control characters, rows the server would refuse, reconnecting, a store failure,
# disco), then a clean stop; memcheck must report nothing (no invalid access, no definite leak).
export RIG_PORT=10045 XMPP_VALGRIND=1
export ONLY="first_message_and_follow_up agent_gets_notified_and_replies overdue_ticket_is_escalated
    agent_reply_on_email_ticket long_ticket_shown_by_its_ends unsendable_rows_given_up
    language_from_xml_lang russian_agent prosody_restart_delivers_pending_once
    store_failure_tells_customer service_discovery agent_takes_unassigned reload_and_bad_secret
    clean_stop"
exec bash "${srcdir:-.}/tests/xmpp_chat.sh"
