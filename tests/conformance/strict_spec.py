#!/usr/bin/env python3
"""strict_spec.py IN.json OUT.json: a copy of a Twilio OpenAPI spec in which every response
object lists all of its properties as `required`.

Twilio's response schemas have no `required` at all, so `{}` or a body missing half its
fields would pass schemathesis' response_schema_conformance check. In the strict copy a
missing field is a violation ("'account_sid' is a required property"); Twilio's own
examples pass it for every operation, so they carry every field and so must we.
Recipe: shared/docs/reference/schemathesis.md, pitfall 1.
"""
import json
import sys


def strict(schema):
    if isinstance(schema, dict) and schema.get("type", "object") == "object" and "properties" in schema:
        schema["required"] = sorted(schema["properties"])
        for prop in schema["properties"].values():
            if prop.get("type") == "object":
                strict(prop)


def main(src, dst):
    with open(src) as f:
        spec = json.load(f)
    for name, schema in spec["components"]["schemas"].items():
        if "." in name:  # conversations.v1.*, studio.v2.*: the resource schemas
            strict(schema)
    for item in spec["paths"].values():
        for op in (o for o in item.values() if isinstance(o, dict)):
            for resp in op.get("responses", {}).values():
                sch = resp.get("content", {}).get("application/json", {}).get("schema")
                if sch and "$ref" not in sch:  # list envelopes {<key>: [...], meta: {...}}
                    strict(sch)
    with open(dst, "w") as f:
        json.dump(spec, f)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
