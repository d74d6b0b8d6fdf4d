"""Recomputes an AppSync publish request's SigV4 signature with botocore (the AWS SDK for
Python's own signer), as AppSync verifies it: over the headers the Authorization names.

stdin: {"method", "url", "headers": {name: value}, "body" (text), "region",
        "access_key", "secret_key", "token"}
stdout: {"expected": <Authorization botocore computes>, "canonical_request": ...}
"""
import json
import sys

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

r = json.load(sys.stdin)
sent = r["headers"]["authorization"]
signed = sent.split("SignedHeaders=")[1].split(",")[0].split(";")
headers = {name: r["headers"][name] for name in signed if name in r["headers"]}
request = AWSRequest(method=r["method"], url=r["url"], data=r["body"].encode(), headers=headers)
auth = SigV4Auth(Credentials(r["access_key"], r["secret_key"], r["token"]), "appsync", r["region"])
request.context["timestamp"] = r["headers"]["x-amz-date"]
auth._modify_request_before_signing(request)
canonical = auth.canonical_request(request)
signature = auth.signature(auth.string_to_sign(request, canonical), request)
auth._inject_signature_to_request(request, signature)
json.dump({"expected": request.headers["Authorization"], "canonical_request": canonical}, sys.stdout)
