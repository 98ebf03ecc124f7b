"""DNS for deliverability: the record set (pure), Route 53 (boto3), delegation and verification
(dnspython)."""
