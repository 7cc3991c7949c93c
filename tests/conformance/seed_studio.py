#!/usr/bin/env python3
"""seed_studio.py BASE_URL ACCOUNT_SID AUTH_TOKEN SPEC.json OUT.toml

The Studio v2 counterpart of seed.py: creates live flows (with several revisions and test
users), executions (one that ran to its end with three steps, one still waiting, one to
delete) and writes a schemathesis config that pins every path parameter of every Studio
v2 operation to one of them, so that each fetch, list, update and delete reaches its
handler and its 2xx body is validated (without seeds, every `{Sid}` route answers 404,
which is never schema-checked).

Reads, updates and deletes use different seeds: UpdateFlow gets a flow of its own (the
fuzzer's random definitions cannot touch the one the reads use), UpdateExecution an
active execution, DeleteFlow and DeleteExecution their own.
"""

import json
import re
import sys

import requests

BASE, ACCOUNT, TOKEN, SPEC, OUT = sys.argv[1:6]
S = requests.Session()
S.auth = (ACCOUNT, TOKEN)

TRIGGER_EVENTS = ["incomingMessage", "incomingCall", "incomingConversationMessage", "incomingRequest",
                  "incomingParent"]


def trigger(**nexts) -> dict:
    return {"name": "Trigger", "type": "trigger",
            "transitions": [{"event": e, **({"next": nexts[e]} if e in nexts else {})} for e in TRIGGER_EVENTS],
            "properties": {"offset": {"x": 0, "y": 0}}}


# REST-started: greet, wait for a reply, thank; every messaging widget of the tutorial.
GREETER = {
    "description": "conformance greeter",
    "initial_state": "Trigger",
    "flags": {"allow_concurrent_calls": True},
    "states": [
        trigger(incomingRequest="ask", incomingMessage="ask", incomingConversationMessage="ask"),
        {"name": "ask", "type": "send-and-wait-for-reply",
         "transitions": [{"event": "incomingMessage", "next": "check"}, {"event": "timeout"},
                         {"event": "deliveryFailure"}],
         "properties": {"from": "{{flow.channel.address}}", "body": "Hi {{flow.data.name}}, do you like bots?",
                        "timeout": "3600", "offset": {"x": 0, "y": 200}}},
        {"name": "check", "type": "split-based-on",
         "transitions": [{"event": "noMatch", "next": "remember"},
                         {"event": "match", "next": "remember",
                          "conditions": [{"friendly_name": "yes", "arguments": ["{{widgets.ask.inbound.Body}}"],
                                          "type": "matches_any_of", "value": "yes,Yes"}]}],
         "properties": {"input": "{{widgets.ask.inbound.Body}}", "offset": {"x": 0, "y": 400}}},
        {"name": "remember", "type": "set-variables", "transitions": [{"event": "next", "next": "thanks"}],
         "properties": {"variables": [{"key": "answer", "value": "{{widgets.ask.inbound.Body}}"}],
                        "offset": {"x": 0, "y": 600}}},
        {"name": "thanks", "type": "send-message", "transitions": [{"event": "sent"}, {"event": "failed"}],
         "properties": {"from": "{{flow.channel.address}}", "to": "{{contact.channel.address}}",
                        "body": "Thanks, {{flow.variables.answer}}", "offset": {"x": 0, "y": 800}}},
    ],
}
NUMBER = "+12345600001"


def post(path: str, data=None, status: int = 201) -> dict:
    r = S.post(BASE + path, data=data or {}, timeout=10)
    if r.status_code != status:
        sys.exit(f"seed_studio: POST {path} -> {r.status_code} {r.text}")
    return r.json()


def get(path: str) -> dict:
    r = S.get(BASE + path, timeout=10)
    if r.status_code != 200:
        sys.exit(f"seed_studio: GET {path} -> {r.status_code} {r.text}")
    return r.json()


def flow(name: str, revisions: int = 1) -> str:
    sid = post("/v2/Flows", {"FriendlyName": name, "Status": "published", "Definition": json.dumps(GREETER),
                             "CommitMessage": "first"})["sid"]
    for n in range(2, revisions + 1):
        post(f"/v2/Flows/{sid}", {"Status": "published" if n % 2 else "draft", "CommitMessage": f"rev {n}",
                                  "Definition": json.dumps(GREETER)}, status=200)
    return sid


def execution(flow_sid: str, contact: str, reply: str | None = None) -> str:
    ex = post(f"/v2/Flows/{flow_sid}/Executions",
              {"To": contact, "From": NUMBER, "Parameters": json.dumps({"name": "Zeke", "n": 1})})
    if reply is not None:  # the handset answers through the phone simulator
        post("/sim/v1/Messages", {"From": contact, "To": NUMBER, "Body": reply})
    return ex["sid"]


def main():
    main_flow = flow("st-studio-main", revisions=3)
    post(f"/v2/Flows/{main_flow}/TestUsers", {"TestUsers": ["+15550009001", "st-tester"]}, status=200)
    upd_flow = flow("st-studio-upd")
    del_flow = flow("st-studio-del")

    done = execution(main_flow, "+15550009101", reply="yes")
    steps = get(f"/v2/Flows/{main_flow}/Executions/{done}/Steps")["steps"]
    if len(steps) < 3 or get(f"/v2/Flows/{main_flow}/Executions/{done}")["status"] != "ended":
        sys.exit(f"seed_studio: the seeded execution did not run to its end: {steps}")
    step = steps[1]["sid"]  # the send-and-wait step: its context has outbound and inbound
    waiting = execution(main_flow, "+15550009102")
    doomed = execution(main_flow, "+15550009103")

    flow_sids = {"GET": main_flow, "POST": upd_flow, "DELETE": del_flow}
    exec_sids = {"GET": done, "POST": waiting, "DELETE": doomed}
    with open(SPEC) as f:
        spec = json.load(f)
    out = ["# Generated by tests/conformance/seed_studio.py: live SIDs for every Studio path parameter.", ""]
    deletes = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "delete"):
                continue
            m = method.upper()
            values = {}
            for name in re.findall(r"\{(\w+)\}", path):
                if name == "FlowSid":
                    values[name] = main_flow
                elif name == "ExecutionSid":
                    values[name] = done
                elif name == "StepSid":
                    values[name] = step
                elif name == "Revision":
                    values[name] = "2"
                elif path.endswith("/Executions/{Sid}"):
                    values[name] = exec_sids[m]
                elif path.endswith("/Steps/{Sid}"):
                    values[name] = step
                elif path == "/v2/Flows/{Sid}":
                    values[name] = flow_sids[m]
                elif path.startswith("/v2/Flows/{Sid}/"):  # Revisions and TestUsers
                    values[name] = main_flow
                else:
                    sys.exit(f"seed_studio: no seed for {{{name}}} in {path}")
            if m == "DELETE":
                deletes.append([op["operationId"], re.sub(r"\{(\w+)\}", lambda g: values[g.group(1)], path)])
            params = {f"path.{k}": v for k, v in values.items()}
            if op["operationId"] in ("CreateFlow", "UpdateFlowValidate"):
                # Random definitions are never a valid flow, so these two would only ever get
                # 81022 and their 2xx bodies would go unchecked; UpdateFlow (Definition
                # optional) still sends the fuzzer's definitions through the same validator.
                params["body.Definition"] = json.dumps(GREETER)
            if not params:
                continue
            out.append("[[operations]]")
            out.append(f'include-operation-id = "{op["operationId"]}"')
            # JSON string escapes are valid TOML basic-string escapes.
            out.append("parameters = { " + ", ".join(f'"{k}" = {json.dumps(v)}' for k, v in params.items()) + " }")
            out.append("")
    with open(OUT, "w") as f:
        f.write("\n".join(out))
    with open(OUT + ".deletes.json", "w") as f:
        json.dump(deletes, f, indent=1)
    print(f"seed_studio: {sum(1 for line in out if line == '[[operations]]')} operations pinned to live SIDs "
          f"(flows {main_flow}, executions {done} with {len(steps)} steps)")


main()
