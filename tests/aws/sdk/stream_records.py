"""Reads a table's DynamoDB stream from the emulator with boto3 and prints its records as
Lambda's DynamoDB event source delivers them ({"Records": [...]}, eventSourceARN added).

stdin: {"endpoint", "region", "table"}
"""
import base64
import datetime
import json
import sys

import boto3

r = json.load(sys.stdin)
session = dict(endpoint_url=r["endpoint"], region_name=r["region"],
               aws_access_key_id="testing", aws_secret_access_key="testing")
arn = boto3.client("dynamodb", **session).describe_table(TableName=r["table"])["Table"]["LatestStreamArn"]
streams = boto3.client("dynamodbstreams", **session)
records = []
for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    while iterator:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        if not page["Records"]:
            break
        records.extend(page["Records"])
        iterator = page.get("NextShardIterator")


def plain(value):
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


for record in records:
    record["eventSourceARN"] = arn
json.dump({"Records": plain(records)}, sys.stdout)
