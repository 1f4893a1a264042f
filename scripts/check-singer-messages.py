#!/usr/bin/env python3
# Independent Singer checker for a tap's stdout (the interop tests run it with the
# singer-sdk that tap-jsonl's venv under .peers/ pins). It reads messages with the
# Meltano SDK's own reader and message classes, as an SDK target would, and checks:
# every line is JSON with a known type, SCHEMA has `properties` and its key properties,
# every RECORD follows a SCHEMA of its stream, carries the key properties and validates
# against that schema (Draft 4 rules, the schemas taps write). Exit 0 and counts on
# stderr when clean; exit 1 with the first problems otherwise.
# singer-tools' singer-check-tap is not used: it pins Python 2-era libraries and does not
# install on Python 3.11.
import sys

import jsonschema
from singer_sdk.singerlib.encoding.simple import (
    ActivateVersionMessage,
    RecordMessage,
    SchemaMessage,
    SimpleSingerReader,
    StateMessage,
)

problems = []
validators = {}
keys = {}


def on_schema(line):
    message = SchemaMessage.from_dict(line)
    if "properties" not in message.schema:
        problems.append(f"SCHEMA {message.stream}: no properties")
    for key in message.key_properties or []:
        if key not in message.schema.get("properties", {}):
            problems.append(f"SCHEMA {message.stream}: key {key} is not a property")
    jsonschema.Draft4Validator.check_schema(message.schema)
    validators[message.stream] = jsonschema.Draft4Validator(message.schema)
    keys[message.stream] = message.key_properties or []


def on_record(line):
    message = RecordMessage.from_dict(line)
    validator = validators.get(message.stream)
    if validator is None:
        problems.append(f"RECORD {message.stream} before its SCHEMA")
        return
    for key in keys[message.stream]:
        if key not in message.record:
            problems.append(f"RECORD {message.stream}: key {key} missing")
    for error in validator.iter_errors(message.record):
        problems.append(f"RECORD {message.stream}: {error.message}")


def on_state(line):
    StateMessage.from_dict(line)


def on_activate_version(line):
    ActivateVersionMessage.from_dict(line)


reader = SimpleSingerReader()
with open(sys.argv[1], encoding="utf-8") if len(sys.argv) > 1 else sys.stdin as source:
    counts = reader.process_lines(
        source,
        {
            "SCHEMA": on_schema,
            "RECORD": on_record,
            "STATE": on_state,
            "ACTIVATE_VERSION": on_activate_version,
        },
    )
for problem in problems[:20]:
    print(f"check-singer-messages: {problem}", file=sys.stderr)
print(f"check-singer-messages: {dict(counts)}", file=sys.stderr)
sys.exit(1 if problems else 0)
