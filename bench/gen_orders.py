#!/usr/bin/env python3
"""Benchmark data: a deterministic Singer stream for an Oracle-style ORDERS table.

    bench/gen_orders.py [-n COUNT] [--seed SEED] [--draft4] OUT     (OUT "-" is stdout)

Writes one SCHEMA, COUNT RECORD messages and a STATE after every 10,000 records and at
the end. The schema is the one an Oracle tap discovers for the table below (NUMBER(p,s)
as a number with bounds and multipleOf, VARCHAR2(n) and CHAR(n) with maxLength, DATE and
TIMESTAMP as date-time); `--draft4` writes the bounds as legacy Oracle taps do (boolean
exclusiveMaximum/exclusiveMinimum, which Meltano SDK targets refuse).

Rows are what a DB-API driver returns (int, Decimal, str, None, datetime): about 450
bytes a record, some non-ASCII text, quotes and backslashes, 70 % NULL notes.
`order_rows()` yields them for the tap-side peer (tap_peer.py); `sim-admin generate`
builds the same columns in the simulated backend.
"""
import argparse
import json
import random
import sys
from datetime import datetime, timedelta
from decimal import Decimal

STREAM = "ORDERS"
STATE_EVERY = 10_000


def integer(precision, nullable=True):
    """NUMBER(precision, 0)."""
    limit = 10**precision - 1
    return {"type": ["null", "integer"] if nullable else ["integer"],
            "minimum": -limit, "maximum": limit}


def decimal(precision, scale, draft4):
    """NUMBER(precision, scale) with scale > 0: |value| < 10^(precision-scale)."""
    bound = 10 ** (precision - scale)
    schema = {"type": ["null", "number"], "multipleOf": float(Decimal(1).scaleb(-scale))}
    if draft4:
        schema.update(maximum=bound, exclusiveMaximum=True, minimum=-bound, exclusiveMinimum=True)
    else:
        schema.update(exclusiveMaximum=bound, exclusiveMinimum=-bound)
    return schema


def text(length):
    """VARCHAR2(length) / CHAR(length)."""
    return {"type": ["null", "string"], "maxLength": length}


TIMESTAMP = {"type": ["null", "string"], "format": "date-time"}


def columns(draft4=False):
    """(name, Oracle type, JSON Schema) of each column, in table order."""
    return [
        ("ORDER_ID", "NUMBER(10) primary key", integer(10, nullable=False)),
        ("CUSTOMER_ID", "NUMBER(10)", integer(10)),
        ("AMOUNT", "NUMBER(12,2)", decimal(12, 2, draft4)),
        ("CURRENCY", "CHAR(3)", text(3)),
        ("STATUS", "VARCHAR2(20)", text(20)),
        ("CUSTOMER_NAME", "VARCHAR2(100)", text(100)),
        ("SHIP_ADDRESS", "VARCHAR2(400)", text(400)),
        ("NOTES", "VARCHAR2(4000), mostly NULL", text(4000)),
        ("ORDER_DATE", "DATE", TIMESTAMP),
        ("UPDATED_AT", "TIMESTAMP(6)", TIMESTAMP),
        ("IS_PRIORITY", "NUMBER(1): 0 or 1", integer(1)),
        ("DISCOUNT_RATE", "NUMBER(5,4)", decimal(5, 4, draft4)),
    ]


COLUMN_NAMES = [name for name, _, _ in columns()]

GIVEN = ("Amara Bjørn Carmen Dario Émile Farah Gustav Hana Ilse Jonas Kemal Léa Mateus "
         "Noor Olek Pía Rui Siobhán Tomás Ulla Ximena Yusuf Zofia").split()
FAMILY = ("Adeyemi Bauer Castillo D'Souza Eriksen Fontaine Grünwald Haddad Ivanova Jansen "
          "Kowalczyk López Murphy Nakamura Okafor Papadopoulos Quinn Rahman Sørensen "
          "Tanaka Ueda Varga Wójcik 王 Ψηλός").split()
TOWNS = ("Aarhus Bogotá Cork Dakar Espoo Fès Gdańsk Hobart Izmir Jaipur Kyoto Lyon Malmö "
         "Nantes Oaxaca Porto Québec Reykjavík Tartu Valparaíso").split()
STREETS = ("Bridge Canal Elm Ferry Garden Harbour Lime Market Orchard Quarry Rose "
           "Schloß Willow").split()
NOTE_WORDS = ("leave with neighbour ring twice fragile glass keep upright invoice attached "
              "customer called about delivery window split shipment approved "
              "\"urgent\" back\\order gift no receipt").split()
STATUSES = ("NEW", "CONFIRMED", "PAID", "PACKED", "SHIPPED", "DELIVERED", "RETURNED", "CANCELLED")
CURRENCIES = ("USD", "EUR", "GBP", "SEK", "JPY", "BRL", "INR")
START = datetime(2016, 1, 1)
TEN_YEARS = 10 * 365 * 86_400


def order_rows(count, seed=7, first_id=1):
    """COUNT rows of ORDERS as a DB-API cursor returns them."""
    rng = random.Random(seed)
    for order_id in range(first_id, first_id + count):
        ordered = START + timedelta(seconds=rng.randrange(TEN_YEARS))
        updated = ordered + timedelta(days=rng.randrange(45),
                                      microseconds=rng.randrange(86_400_000_000))
        notes = None
        if rng.random() >= 0.7:
            notes = " ".join(rng.choice(NOTE_WORDS) for _ in range(rng.randrange(4, 32)))
        yield (
            order_id,
            rng.randrange(1, 3_000_000),
            Decimal(rng.randrange(50, 9_999_999)).scaleb(-2),
            rng.choice(CURRENCIES),
            rng.choice(STATUSES),
            f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}",
            f"{rng.randrange(1, 2000)} {rng.choice(STREETS)} Road, Unit {rng.randrange(1, 500)}, "
            f"{rng.choice(TOWNS)} {rng.randrange(1000, 99999):05d}",
            notes,
            ordered,
            updated,
            int(rng.random() < 0.15),
            Decimal(rng.randrange(0, 2500)).scaleb(-4),
        )


def json_value(value):
    """A DB-API value as the JSON an Oracle tap writes: UTC date-times, numbers as numbers."""
    if isinstance(value, datetime):
        return value.isoformat() + "+00:00"
    if isinstance(value, Decimal):
        return float(value)  # two or four decimals below 2^53: the shortest repr is exact
    return value


def state(last_id, syncing):
    return {"type": "STATE", "value": {
        "currently_syncing": STREAM if syncing else None,
        "bookmarks": {STREAM: {"last_pk_fetched": {"ORDER_ID": last_id}}},
    }}


def write_stream(out, count, seed, draft4):
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    schema = {"type": "object", "properties": {name: s for name, _, s in columns(draft4)}}
    out.write(encode({"type": "SCHEMA", "stream": STREAM, "schema": schema,
                      "key_properties": ["ORDER_ID"]}) + "\n")
    extracted = "2026-01-01T00:00:00.000000+00:00"
    last_id = 0
    for last_id, row in enumerate(order_rows(count, seed), 1):
        record = {name: json_value(v) for name, v in zip(COLUMN_NAMES, row)}
        out.write(encode({"type": "RECORD", "stream": STREAM, "record": record,
                          "time_extracted": extracted}) + "\n")
        if last_id % STATE_EVERY == 0:
            out.write(encode(state(last_id, True)) + "\n")
    out.write(encode(state(last_id, False)) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1_000_000, help="records (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--draft4", action="store_true",
                        help="boolean exclusiveMaximum/Minimum, as legacy Oracle taps write")
    parser.add_argument("out", help='output file, or "-" for stdout')
    args = parser.parse_args()
    if args.out == "-":
        write_stream(sys.stdout, args.n, args.seed, args.draft4)
    else:
        with open(args.out, "w", encoding="utf-8", newline="\n") as out:
            write_stream(out, args.n, args.seed, args.draft4)


if __name__ == "__main__":
    main()
