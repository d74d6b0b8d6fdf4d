"""The AWS emulator: moto's server, with DynamoDB's atomicity and its transaction conflicts as
AWS documents them.

Isolation. moto applies a TransactWriteItems one item after another on the live table and,
when an item's condition fails, puts back a copy of the whole table taken before it began. A
write that another request made meanwhile (a concurrent transaction, a conditional PutItem)
is then lost, or a transaction commits on a condition that another writer already made
false. DynamoDB runs a transaction in isolation from every other write and read of its items,
and each single-item write is atomic. Here every DynamoDB operation of the emulator takes one
lock, so they run one at a time, as isolated as DynamoDB's; other services (SQS long polls,
S3) are untouched.

Conflicts. DynamoDB does not queue a request behind a transaction in flight: it refuses it
("Transaction conflict handling", Amazon DynamoDB Developer Guide). A TransactWriteItems that
includes an item another TransactWriteItems is writing is cancelled with the reason
`TransactionConflict` for that item and `None` for the others; a PutItem, UpdateItem or
DeleteItem of such an item fails with `TransactionConflictException`. moto applies a
transaction at once, so nothing is ever in flight. A table tagged
`emulator:transaction-in-flight-ms` = N keeps each transaction on it in flight for N ms
before it is applied, with those refusals meanwhile; a table without the tag (every table a
test does not tag) behaves as before, so other tests stay fast. Reads are never refused
(GetItem and Query read the last committed state, as DynamoDB's do). Writes inside a
BatchWriteItem are not refused either: DynamoDB's guide names single-item writes and
transactions, and nothing here writes an inbox row in a batch.

Usage: python scripts/emulator.py -H 127.0.0.1 -p 5000   (moto_server's arguments)
"""

import collections
import copy
import functools
import inspect
import threading
import time

from moto.dynamodb.exceptions import (
    ERROR_TYPE_PREFIX,
    DynamodbException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

LOCK = threading.RLock()
IN_FLIGHT_TAG = "emulator:transaction-in-flight-ms"

OPERATIONS = (
    "put_item", "update_item", "delete_item", "get_item", "query", "scan",
    "batch_write_item", "batch_get_item", "transact_write_items", "transact_get_items",
)
SINGLE_ITEM_WRITES = ("put_item", "update_item", "delete_item")

# (table name, key) of every item a transaction in flight is writing, counted.
in_flight = collections.Counter()
# How deep this thread is inside the backend: moto's transactions and batches call
# put_item & co. themselves, and only a request's own call is checked for conflicts.
depth = threading.local()


class TransactionConflictException(DynamodbException):
    error_type = ERROR_TYPE_PREFIX + "TransactionConflictException"

    def __init__(self):
        super().__init__(
            TransactionConflictException.error_type,
            message="Transaction is ongoing for the item",
        )


def depth_now():
    return getattr(depth, "n", 0)


def serialized(method):
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        with LOCK:
            depth.n = getattr(depth, "n", 0) + 1
            try:
                return method(self, *args, **kwargs)
            finally:
                depth.n -= 1

    return run


def item_key(backend, table_name, attributes):
    """The identity of an item: its table and its key attributes' values."""
    table = backend.get_table(table_name)
    names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
    return (table.name, tuple(repr(attributes.get(name)) for name in names))


def in_flight_ms(backend, table_name):
    table = backend.tables.get(table_name)
    for tag in getattr(table, "tags", None) or []:
        if tag.get("Key") == IN_FLIGHT_TAG:
            try:
                return max(0, int(tag.get("Value", "0")))
            except ValueError:
                return 0
    return 0


def refused_while_in_flight(name, method):
    """A single-item write of an item a transaction in flight is writing is refused."""
    signature = inspect.signature(method)
    attributes = "item_attrs" if name == "put_item" else "key"

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        # Inside `serialized`: 1 is the request's own call, more is moto's own from a batch.
        if depth_now() == 1 and in_flight:
            bound = signature.bind(self, *args, **kwargs)
            key = item_key(self, bound.arguments["table_name"], bound.arguments[attributes])
            if in_flight[key]:
                raise TransactionConflictException()
        return method(self, *args, **kwargs)

    return run


def target(backend, op_type, op):
    """The table name and key of one action of a transaction."""
    if op_type == "Put":
        table = backend.get_table(op["TableName"])
        names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
        return op["TableName"], {name: op["Item"][name] for name in names if name in op["Item"]}
    return op["TableName"], op["Key"]


def actions(backend, transact_items):
    """Each action of a transaction as (type, operation, table name, key), refused as
    DynamoDB refuses a malformed transaction (too many actions, two on one item)."""
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    seen, out = set(), []
    for item in transact_items:
        if len(item) != 1:
            raise TransactWriteSingleOpException()
        op_type, op = next(iter(item.items()))
        table_name, key = target(backend, op_type, op)
        identity = item_key(backend, table_name, key)
        if identity in seen:
            raise MultipleTransactionsException()
        seen.add(identity)
        out.append((op_type, op, table_name, key))
    return out


def failed_conditions(backend, steps):
    """Each action's cancellation reason if its condition fails on the table as it is now,
    else None: None when every condition holds."""
    reasons, failed = [], False
    for _, op, table_name, key in steps:
        condition = op.get("ConditionExpression")
        current = backend.get_item(table_name, key) if condition else None
        if condition is None or get_filter_expression(
            condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        ).expr(current):
            reasons.append((None, None, None))
            continue
        old = None
        if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
            old = current.to_json()["Attributes"]
        reasons.append(("ConditionalCheckFailed", "The conditional request failed", old))
        failed = True
    return reasons if failed else None


def commit(backend, transact_items):
    """A TransactWriteItems as DynamoDB applies it: all or nothing. moto copies every table
    the transaction touches before it writes, to put it back when a condition fails, which
    makes each transaction cost as much as its tables hold. Here every condition is checked
    first (a failed one cancels the transaction with its reasons, writing nothing), then
    the writes are made; one that moto refuses midway (a validation error) puts back the
    items written before it."""
    steps = actions(backend, transact_items)
    cancelled = failed_conditions(backend, steps)
    if cancelled:
        raise TransactionCanceledException(cancelled)
    written = []
    try:
        for op_type, op, table_name, key in steps:
            if op_type == "ConditionCheck":
                continue
            current = backend.get_item(table_name, key)
            written.append((table_name, key, copy.deepcopy(current.to_json()["Attributes"]) if current else None))
            if op_type == "Put":
                backend.put_item(table_name, op["Item"])
            elif op_type == "Delete":
                backend.delete_item(table_name, key)
            elif op_type == "Update":
                backend.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    expression_attribute_names=op.get("ExpressionAttributeNames"),
                    expression_attribute_values=op.get("ExpressionAttributeValues"),
                )
            else:
                raise ValueError("Unsupported transaction operation")
    except Exception:
        for table_name, key, before in reversed(written):
            if before is None:
                backend.delete_item(table_name, key)
            else:
                backend.put_item(table_name, before)
        raise


def transact_write_items(self, transact_items, *args, **kwargs):
    """TransactWriteItems: committed under the lock at once, or, on a table tagged with an
    in-flight time, after its items were in flight that long (other transactions on them
    cancelled, single-item writes refused)."""
    with LOCK:
        depth.n = depth_now() + 1
        try:
            writes = [next(iter(item.values())) for item in transact_items]
            delay = max((in_flight_ms(self, op.get("TableName")) for op in writes), default=0)
            if delay == 0:
                return commit(self, transact_items)
            keys = [item_key(self, table_name, key) for _, _, table_name, key in actions(self, transact_items)]
            conflicts = [in_flight[key] > 0 for key in keys]
            if any(conflicts):
                raise TransactionCanceledException(
                    [
                        ("TransactionConflict", "Transaction is ongoing for the item", None)
                        if conflict
                        else (None, None, None)
                        for conflict in conflicts
                    ]
                )
            in_flight.update(keys)
        finally:
            depth.n -= 1
    try:
        time.sleep(delay / 1000)
        with LOCK:
            depth.n = depth_now() + 1
            try:
                return commit(self, transact_items)
            finally:
                depth.n -= 1
    finally:
        with LOCK:
            in_flight.subtract(keys)
            for key in keys:
                if in_flight[key] <= 0:
                    del in_flight[key]


for name in OPERATIONS:
    if hasattr(DynamoDBBackend, name):
        method = serialized(getattr(DynamoDBBackend, name))
        if name in SINGLE_ITEM_WRITES:
            method = serialized(refused_while_in_flight(name, getattr(DynamoDBBackend, name)))
        if name == "transact_write_items":
            method = transact_write_items
        setattr(DynamoDBBackend, name, method)

if __name__ == "__main__":
    main()
