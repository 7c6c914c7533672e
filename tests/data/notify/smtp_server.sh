#!/bin/sh
# A real SMTP server for the t4 tests: Debian's python3-aiosmtpd (RFC 5321 server) with its Mailbox
# handler, which delivers every accepted message into a Maildir (MBOX/new/…).
# usage: smtp_server.sh PORT MAILDIR
exec /usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$1" -c aiosmtpd.handlers.Mailbox "$2"
