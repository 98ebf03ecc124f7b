"""The mail ports of a simulated VPS host, as Mailu's front offers them to mail clients.

- `tls`: the local certificate authority (what Let's Encrypt is to a real Mailu) and the client
  TLS context that trusts it alone.
- `ports.MailPorts`: SMTP submission ("587", STARTTLS then AUTH) and IMAPS ("993") on loopback
  ports of their own, on the host's event loop; `smtp` and `imap` hold the two dialects.
- `mailboxes.MailStore`: the host's INBOXes, in memory.
- `host.MailHost`: what the ports need from their host (users, health, certificate names).

Accepted mail is delivered locally; relaying to other servers is refused, not faked. Nothing
received is executed, and no password is ever logged.
"""
