#!/usr/bin/env python3
"""seed.py BASE_URL ACCOUNT_SID AUTH_TOKEN SPEC.json OUT.toml

Creates live resources on a fresh Parley server and writes a schemathesis config that
pins every `{…Sid}` path parameter of every Conversations v1 operation to one of them.

Why: the spec's path parameters are bare strings, so generated or example SIDs only ever
get 404, and a 404 is never schema-checked (schemathesis.md §1, pitfall 9). With live
SIDs each fetch, update and delete reaches the handler and its 2xx body is validated.

Reads, updates and deletes of one resource kind use different seeds, so a delete (or an
update that closes a conversation) cannot take away what the other operations test.
"""

import json
import re
import sys

import requests

BASE, ACCOUNT, TOKEN, SPEC, OUT = sys.argv[1:6]
S = requests.Session()
S.auth = (ACCOUNT, TOKEN)
FLOW = "FW" + "0123456789abcdef" * 2
_phone = iter(range(1, 10_000))


def phone() -> str:
    return "+1555%07d" % next(_phone)


def post(path: str, data=None, status: int = 201) -> dict:
    r = S.post(BASE + path, data=data or {}, timeout=10)
    if r.status_code != status:
        sys.exit(f"seed: POST {path} -> {r.status_code} {r.text}")
    return r.json()


def get(path: str) -> dict:
    r = S.get(BASE + path, timeout=10)
    if r.status_code != 200:
        sys.exit(f"seed: GET {path} -> {r.status_code} {r.text}")
    return r.json()


def tree(base: str, tag: str) -> dict:
    """One set of service-scoped seeds under `base` (`/v1` or `/v1/Services/IS…`)."""
    t = {}
    main = post(f"{base}/Conversations", {"FriendlyName": f"st-main-{tag}", "UniqueName": f"st-main-{tag}"})
    ch = main["sid"]
    t["conv"] = {"GET": ch, "POST": post(f"{base}/Conversations", {"FriendlyName": "st-upd"})["sid"],
                 "DELETE": post(f"{base}/Conversations", {"FriendlyName": "st-del"})["sid"]}
    t["conv_main"] = ch
    alice, leaver = f"st-alice-{tag}", f"st-leaver-{tag}"
    parts = f"{base}/Conversations/{ch}/Participants"
    chat = post(parts, {"Identity": alice})["sid"]
    post(parts, {"MessagingBinding.Address": phone(), "MessagingBinding.ProxyAddress": phone()})
    post(parts, {"Identity": leaver})
    t["part"] = {"GET": chat, "POST": post(parts, {"Identity": f"st-upd-{tag}"})["sid"],
                 "DELETE": post(parts, {"Identity": f"st-del-{tag}"})["sid"]}
    msgs = f"{base}/Conversations/{ch}/Messages"
    # Authored by the chat participant, so the SMS participant gets a delivery receipt.
    main_msg = post(msgs, {"Body": "hello", "Author": alice})["sid"]
    t["msg"] = {"GET": main_msg, "POST": post(msgs, {"Body": "to edit"})["sid"],
                "DELETE": post(msgs, {"Body": "to delete"})["sid"]}
    t["msg_main"] = main_msg
    receipts = get(f"{msgs}/{main_msg}/Receipts")["delivery_receipts"]
    if not receipts:
        sys.exit("seed: the SMS participant got no delivery receipt")
    t["receipt"] = receipts[0]["sid"]
    hooks = f"{base}/Conversations/{ch}/Webhooks"
    t["hook"] = {m: post(hooks, {"Target": "studio", "Configuration.FlowSid": FLOW})["sid"]
                 for m in ("GET", "POST", "DELETE")}
    users = {u["identity"]: u["sid"] for u in get(f"{base}/Users?PageSize=100")["users"]}
    t["user"] = {"GET": users[alice], "POST": post(f"{base}/Users", {"Identity": f"st-uupd-{tag}"})["sid"],
                 "DELETE": post(f"{base}/Users", {"Identity": f"st-udel-{tag}"})["sid"]}
    # A user leaving a conversation (DELETE …/Users/{UserSid}/Conversations/{CH}) uses another user.
    t["user_conv"] = {"GET": users[alice], "POST": users[alice], "DELETE": users[leaver]}
    t["role"] = {m: post(f"{base}/Roles", {"FriendlyName": f"st-role-{m.lower()}", "Type": "conversation",
                                            "Permission": ["sendMessage", "leaveConversation"]})["sid"]
                 for m in ("GET", "POST", "DELETE")}
    t["identity"] = alice
    return t


def main():
    cfg = get("/v1/Configuration")
    default_service = cfg["default_chat_service_sid"]
    svc = post("/v1/Services", {"FriendlyName": "st-seeded"})["sid"]
    svc_del = post("/v1/Services", {"FriendlyName": "st-to-delete"})["sid"]
    trees = {"default": tree("/v1", "d"), "service": tree(f"/v1/Services/{svc}", "s")}
    account = {
        "Credentials": {m: post("/v1/Credentials", {"Type": "fcm", "FriendlyName": f"st-{m.lower()}",
                                                     "Secret": "k"})["sid"] for m in ("GET", "POST", "DELETE")},
        "Addresses": {m: post("/v1/Configuration/Addresses", {"Type": "sms", "Address": phone()})["sid"]
                      for m in ("GET", "POST", "DELETE")},
        "Services": {"GET": svc, "POST": svc, "DELETE": svc_del},
        # Push bindings come from the SDKs; the REST API cannot create one.
        "Bindings": {m: "BS" + "0" * 32 for m in ("GET", "POST", "DELETE")},
    }
    kind_of = {"Conversations": "conv", "Participants": "part", "Messages": "msg", "Webhooks": "hook",
               "Users": "user", "Roles": "role"}

    with open(SPEC) as f:
        spec = json.load(f)
    out = ["# Generated by tests/conformance/seed.py: live SIDs for every path parameter.", ""]
    deletes = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "delete"):
                continue
            m = method.upper()
            names = re.findall(r"\{(\w+)\}", path)
            t = trees["service" if path.startswith("/v1/Services/{ChatServiceSid}") else "default"]
            values = {}
            for name in names:
                if name == "ChatServiceSid":
                    values[name] = svc
                elif name == "ConversationSid":
                    values[name] = t["conv_main"]
                elif name == "MessageSid":
                    values[name] = t["msg_main"]
                elif name == "UserSid":
                    values[name] = t["user_conv"][m]
                elif name == "Sid":
                    kind = path.rsplit("/", 2)[-2]
                    if kind == "Receipts":
                        values[name] = t["receipt"]
                    elif kind in kind_of:
                        values[name] = t[kind_of[kind]][m]
                    else:
                        values[name] = account[kind][m]
            params = {f"path.{k}": v for k, v in values.items()}
            if m == "DELETE" and not values.get("Sid", "").startswith("BS"):  # no push binding to seed
                # Where the deleted resource can be read back: by the fetch of the same path.
                deletes.append([op["operationId"], re.sub(r"\{(\w+)\}", lambda g: values[g.group(1)], path)])
            if op["operationId"].endswith("ParticipantConversation"):
                params["query.Identity"] = t["identity"]
            if op["operationId"] == "UpdateConfiguration":
                # Re-pointing the default service would move every /v1/… seed out of reach.
                params["body.DefaultChatServiceSid"] = default_service
            if not params:
                continue
            out.append("[[operations]]")
            out.append(f'include-operation-id = "{op["operationId"]}"')
            out.append("parameters = { " + ", ".join(f'"{k}" = "{v}"' for k, v in params.items()) + " }")
            out.append("")
    with open(OUT, "w") as f:
        f.write("\n".join(out))
    # For run.sh's after-check that each DELETE operation really deleted its seed once.
    with open(OUT + ".deletes.json", "w") as f:
        json.dump(deletes, f, indent=1)
    print(f"seed: {sum(1 for line in out if line == '[[operations]]')} operations pinned to live SIDs")


main()
