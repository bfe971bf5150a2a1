#!/usr/bin/env python3
"""Verifies one adpipe webhook delivery as a receiver would: with the
Standard Webhooks reference library (`standardwebhooks` on PyPI, installed by
scripts/test.sh), against this machine's clock. tests/webhooks_standard.rs
runs it on deliveries adpipe sent.

Reads one JSON object from stdin:

    {"secret": "whsec_...", "headers": {"webhook-id": "...", ...}, "body": "..."}

`secret` is what the receiver gives the library: a `whsec_` secret as set in
ADPIPE_WEBHOOK_SECRET, or `whsec_` + base64 of any other secret's UTF-8
bytes. `headers` are the request's headers (any case), `body` the exact body.

Exit status: 0 the library accepts it (prints the event it parsed); 10 the
library refuses it (prints why); anything else, an error (bad input, or the
package missing: status 3), so a caller cannot mistake a broken check for a
refusal.
"""

import json
import sys

try:
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError
except ImportError as error:
    print(
        f"the standardwebhooks package is missing ({error}): "
        "python3 -m pip install standardwebhooks (scripts/test.sh installs it)",
        file=sys.stderr,
    )
    sys.exit(3)

ACCEPTED, REFUSED, BAD_INPUT = 0, 10, 2


def main() -> int:
    try:
        delivery = json.load(sys.stdin)
        secret, headers, body = delivery["secret"], delivery["headers"], delivery["body"]
        if not (isinstance(secret, str) and isinstance(headers, dict) and isinstance(body, str)):
            raise TypeError("secret and body must be strings, headers an object")
    except (ValueError, KeyError, TypeError) as error:
        print(f"bad input: {error!r}", file=sys.stderr)
        return BAD_INPUT
    webhook = Webhook(secret)
    try:
        event = webhook.verify(body.encode("utf-8"), headers)
    except WebhookVerificationError as error:
        print(f"refused: {error}")
        return REFUSED
    print(f"accepted: {json.dumps(event)}")
    return ACCEPTED


if __name__ == "__main__":
    sys.exit(main())
