"""The top-level parameters each simulated endpoint accepts: the names in stripe-python 16's
params types (stripe/params/...). Anything else gets Stripe's 400 `parameter_unknown`, so a
misspelt or removed parameter fails locally as it would against the real API.
"""

from __future__ import annotations

CUSTOMER_CREATE_PARAMS = frozenset(
    [
        "address",
        "balance",
        "business_name",
        "cash_balance",
        "description",
        "email",
        "expand",
        "individual_name",
        "invoice_prefix",
        "invoice_settings",
        "metadata",
        "name",
        "next_invoice_sequence",
        "payment_method",
        "phone",
        "preferred_locales",
        "shipping",
        "source",
        "tax",
        "tax_exempt",
        "tax_id_data",
        "test_clock",
        "validate",
    ]
)
PRICE_LIST_PARAMS = frozenset(
    [
        "active",
        "created",
        "currency",
        "ending_before",
        "expand",
        "limit",
        "lookup_keys",
        "product",
        "recurring",
        "starting_after",
        "type",
    ]
)
CHECKOUT_CREATE_PARAMS = frozenset(
    [
        "adaptive_pricing",
        "after_expiration",
        "allow_promotion_codes",
        "automatic_tax",
        "billing_address_collection",
        "branding_settings",
        "cancel_url",
        "client_reference_id",
        "consent_collection",
        "currency",
        "custom_fields",
        "custom_text",
        "customer",
        "customer_creation",
        "customer_email",
        "customer_update",
        "discounts",
        "expand",
        "expires_at",
        "invoice_creation",
        "line_items",
        "locale",
        "metadata",
        "mode",
        "optional_items",
        "payment_intent_data",
        "payment_method_collection",
        "payment_method_configuration",
        "payment_method_data",
        "payment_method_options",
        "payment_method_types",
        "phone_number_collection",
        "redirect_on_completion",
        "return_url",
        "saved_payment_method_options",
        "setup_intent_data",
        "shipping_address_collection",
        "shipping_options",
        "submit_type",
        "subscription_data",
        "success_url",
        "tax_id_collection",
        "ui_mode",
        "wallet_options",
    ]
)
PORTAL_SESSION_CREATE_PARAMS = frozenset(
    [
        "after_expiration",
        "configuration",
        "customer",
        "customer_account",
        "expand",
        "flow_data",
        "locale",
        "on_behalf_of",
        "return_url",
    ]
)
CHECKOUT_LIST_PARAMS = frozenset(
    [
        "created",
        "customer",
        "customer_account",
        "customer_details",
        "ending_before",
        "expand",
        "limit",
        "payment_intent",
        "payment_link",
        "starting_after",
        "status",
        "subscription",
    ]
)
SUBSCRIPTION_LIST_PARAMS = frozenset(
    [
        "automatic_tax",
        "collection_method",
        "created",
        "current_period_end",
        "current_period_start",
        "customer",
        "customer_account",
        "ending_before",
        "expand",
        "limit",
        "plan",
        "price",
        "starting_after",
        "status",
        "test_clock",
    ]
)
METER_EVENT_CREATE_PARAMS = frozenset(
    ["event_name", "expand", "identifier", "payload", "timestamp"]
)
RETRIEVE_PARAMS = frozenset({"expand"})
