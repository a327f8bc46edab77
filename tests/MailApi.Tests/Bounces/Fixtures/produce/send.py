#!/usr/bin/env python3
"""Sends one test message into the fixture Postfix (postfix-dsns.sh), as MailApi does with bounces on or off.

  python3 send.py PORT TOKEN ENVID|- RCPT [RCPT...]

With ENVID "-" no DSN parameters are sent (bounces off); else MAIL FROM carries RET=HDRS ENVID=..., each RCPT
NOTIFY=FAILURE,DELAY ORCPT=rfc822;<rcpt>. The envelope sender is bounces+TOKEN@mailapi.test.
"""
import smtplib, sys
from email.message import EmailMessage
from email.utils import make_msgid, formatdate

port, token, envid, rcpts = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
msg = EmailMessage()
msg["From"] = "Shop <orders@shop.example>"
msg["To"] = ", ".join(rcpts)
msg["Subject"] = "Your order 1042"
msg["Date"] = formatdate(localtime=False)
msg["Message-ID"] = make_msgid(idstring=token[:8], domain="shop.example")
msg.set_content("Thank you for your order.\n")
sender = f"bounces+{token}@mailapi.test"
with smtplib.SMTP("127.0.0.1", port, local_hostname="mailapi.test") as s:
    s.ehlo()
    dsn = envid != "-"
    code, reply = s.mail(sender, ["RET=HDRS", f"ENVID={envid}"] if dsn else [])
    assert code == 250, reply
    for r in rcpts:
        code, reply = s.rcpt(r, ["NOTIFY=FAILURE,DELAY", f"ORCPT=rfc822;{r}"] if dsn else [])
        assert code == 250, (r, reply)
    code, reply = s.data(msg.as_bytes())
    print(msg["Message-ID"], code, reply.decode())
