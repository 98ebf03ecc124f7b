"""`make demo`: the product's main job, on this machine. A customer pays through Stripe Checkout,
adds its domain, asks for inboxes and watches the real provisioning workflow build them; then it
reads the credentials from the API, sends a message over SMTP and finds it over IMAP, and asks the
resolvers for its records. Modules: options (the flags), story (the customer's steps), watch
(where each run stands), view (live or plain output), mail_check, dns_answers, report (the
summary), main (start, play, stop)."""
