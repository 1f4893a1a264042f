#!/usr/bin/env python3
"""The Python side of bench/tap.sh: the per-row work of a Python Oracle tap.

    python tap_peer.py COUNT > /dev/null      (in a venv with singer-python 6.8.0)

The Python Oracle taps turn each DB-API row into a RECORD the same way: convert every
value by its column's JSON Schema type (int for integers, ISO 8601 text for DATE and
TIMESTAMP, Decimal left to the writer), zip the values with the column names, and write
the message with singer-python's `write_message`, with a table version and the
extraction time. This does exactly that for COUNT rows, cycling through 10,000 rows
made in advance by gen_orders.order_rows(), so the figure is the tap's own work and not
the database's or the generator's. A STATE follows every 10,000 rows, as a tap's would.
"""
import os
import sys
from datetime import datetime, timezone

import singer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_orders import COLUMN_NAMES, STREAM, columns, order_rows  # noqa: E402

POOL_SIZE = 10_000


def converter(schema):
    """The conversion a Python Oracle tap applies to a column's values."""
    types = schema["type"]
    if "integer" in types:
        return int
    if schema.get("format") == "date-time":
        return lambda value: value.isoformat() + "+00:00"
    return None  # strings as they are; Decimals serialised by the writer


def main():
    count = int(sys.argv[1])
    schema = {"type": "object", "properties": {name: s for name, _, s in columns()}}
    converters = [converter(s) for _, _, s in columns()]
    pool = list(order_rows(POOL_SIZE))
    version = 1_767_225_600_000
    extracted = datetime.now(timezone.utc)
    singer.write_message(singer.SchemaMessage(stream=STREAM, schema=schema,
                                              key_properties=["ORDER_ID"]))
    for n in range(1, count + 1):
        row = (n,) + pool[n % POOL_SIZE][1:]
        values = [v if v is None or c is None else c(v) for c, v in zip(converters, row)]
        singer.write_message(singer.RecordMessage(stream=STREAM,
                                                  record=dict(zip(COLUMN_NAMES, values)),
                                                  version=version,
                                                  time_extracted=extracted))
        if n % POOL_SIZE == 0:
            singer.write_message(singer.StateMessage(
                value={"bookmarks": {STREAM: {"last_pk_fetched": {"ORDER_ID": n}}}}))


if __name__ == "__main__":
    main()
