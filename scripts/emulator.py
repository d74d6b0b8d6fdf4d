"""The AWS emulator: moto's server, with DynamoDB's atomicity as AWS documents it.

moto applies a TransactWriteItems one item after another on the live table and, when an
item's condition fails, puts back a copy of the whole table taken before it began. A write
that another request made meanwhile (a concurrent transaction, a conditional PutItem) is then
lost, or a transaction commits on a condition that another writer already made false. DynamoDB
runs a transaction in isolation from every other write and read of its items, and each
single-item write is atomic. Here every DynamoDB operation of the emulator takes one lock, so
they run one at a time, as isolated as DynamoDB's; other services (SQS long polls, S3) are
untouched.

Usage: python scripts/emulator.py -H 127.0.0.1 -p 5000   (moto_server's arguments)
"""

import functools
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

LOCK = threading.RLock()

OPERATIONS = (
    "put_item", "update_item", "delete_item", "get_item", "query", "scan",
    "batch_write_item", "batch_get_item", "transact_write_items", "transact_get_items",
)


def serialized(method):
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        with LOCK:
            return method(self, *args, **kwargs)

    return run


for name in OPERATIONS:
    if hasattr(DynamoDBBackend, name):
        setattr(DynamoDBBackend, name, serialized(getattr(DynamoDBBackend, name)))

if __name__ == "__main__":
    main()
