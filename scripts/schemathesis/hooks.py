"""Schemathesis hooks for adpipe's contract test (scripts/schemathesis.sh).

`POST /ads` takes an image as bytes. No JSON Schema can say "bytes that
decode as a JPEG, PNG, WebP, GIF or BMP", so the bytes Schemathesis makes
for a schema-valid case are almost never an image, and the server is right
to refuse them (400 image_empty / image_corrupt, 415
image_unsupported_type; its own tests cover those). For the cases meant to
be valid only, the image part becomes a real 8x8 PNG, so that what the
document promises about the text and the address is what gets tested.
Cases meant to be invalid are left as generated, but for one kind: a
multipart form carries every field as text, so a "wrong type" of text or
email (a number, true/false, null, an object), or a form that is not an
object of named fields, reaches the server as name=characters pairs that a
valid form could be ("12", "null", "{}"). Such a case is not invalid on the
wire, and is dropped; wrong lengths, patterns, missing and unknown fields
are still sent. An unknown field is kept only when it has characters to
send: one whose value is null or an empty list puts no part on the wire, so
the server sees a valid form (the stateful phase found one and counted the
202 as "schema-violating request accepted").
"""

import base64

import schemathesis

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEUlEQVR4nGNocFDAihiGlgQA+gM4Acru2/oAAAAASUVORK5CYII="
)


def _mode(case) -> str:
    meta = getattr(case, "meta", None)
    generation = getattr(meta, "generation", None)
    mode = getattr(generation, "mode", None)
    return "" if mode is None else str(getattr(mode, "value", mode)).lower()


def _submits_an_ad(context) -> bool:
    operation = context.operation
    return operation is not None and operation.method.upper() == "POST" and operation.path == "/ads"


@schemathesis.hook
def map_case(context, case):
    if _submits_an_ad(context) and _mode(case) == "positive" and isinstance(case.body, dict):
        if "image" in case.body:
            case.body["image"] = PNG
    return case


@schemathesis.hook
def filter_case(context, case):
    if not _submits_an_ad(context) or _mode(case) != "negative":
        return True
    # Only a form whose fields are named by strings and whose text and
    # address are strings: anything else is written out as the same
    # name=characters pairs a valid form could be.
    body = case.body
    return (
        isinstance(body, dict)
        and all(isinstance(name, str) for name in body)
        and all(isinstance(body[field], str) for field in ("text", "email") if field in body)
        and all(_puts_a_part_on_the_wire(value) for name, value in body.items() if name not in FIELDS)
    )


FIELDS = ("text", "image", "email")


def _puts_a_part_on_the_wire(value) -> bool:
    if isinstance(value, list):
        return bool(value) and all(isinstance(item, (str, bytes)) for item in value)
    return isinstance(value, (str, bytes))
