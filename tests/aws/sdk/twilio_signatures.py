"""Signs webhook requests with the official Twilio SDK's RequestValidator, as a new user of
the SDK would: each case's URL exactly as given (with or without its fragment).

Reads {"token": ..., "cases": [{"url": ..., "params": [[name, value], ...]}]} on stdin and
writes the signatures, one per case, as a JSON list; also checks that the SDK's own
validate() accepts each, so a signature this prints is one the SDK stands behind.
"""

import json
import sys

from twilio.request_validator import RequestValidator

request = json.load(sys.stdin)
validator = RequestValidator(request["token"])
signatures = []
for case in request["cases"]:
    params = {}
    for name, value in case["params"]:
        params[name] = value
    signature = validator.compute_signature(case["url"], params)
    assert validator.validate(case["url"], params, signature), case["url"]
    signatures.append(signature)
json.dump(signatures, sys.stdout)
