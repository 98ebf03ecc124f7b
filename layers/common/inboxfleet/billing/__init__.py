"""Billing with Stripe: the webhook (verify, queue), the worker (watermarked snapshots, derived
entitlement, inbox desired states, reminders), onboarding and usage metering.

Pure: plans, signature, stripe_objects, state, inbox_policy, reminders. Adapters: stripe_api
(stripe SDK), sqs_queue and ses_mailer (boto3). Services: webhook, worker, onboarding, usage."""
