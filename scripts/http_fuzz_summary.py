"""Summarises a schemathesis NDJSON report (scripts/http-fuzz.sh) as Markdown: requests sent
per operation, the statuses they got, and every failed check.
usage: http_fuzz_summary.py EVENTS.ndjson EXAMPLES SEED EXIT_STATUS"""

import collections
import json
import sys

events_path, examples, seed, exit_status = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
requests = collections.Counter()
statuses = collections.defaultdict(collections.Counter)
failures = collections.Counter()
seconds = 0.0
for line in open(events_path, encoding="utf-8"):
    event = json.loads(line)
    if "EngineFinished" in event:
        seconds = event["EngineFinished"]["running_time"]
    scenario = event.get("ScenarioFinished")
    if not scenario:
        continue
    recorder = scenario["recorder"]
    label = recorder["label"]
    for interaction in recorder.get("interactions", {}).values():
        response = interaction.get("response")
        requests[label] += 1
        statuses[label][response["status_code"] if response else "no response"] += 1
    for checks in recorder.get("checks", {}).values():
        for check in checks:
            if check["status"] == "failure":
                failures[(label, check["name"])] += 1

total = sum(requests.values())
server_errors = sum(n for s in statuses.values() for code, n in s.items()
                    if isinstance(code, int) and code >= 500 and code != 503)
print(f"HTTP fuzz (schemathesis, up to {examples} cases per operation and phase): "
      f"{total} requests to {len(requests)} operations in {seconds:.0f} s, "
      f"{server_errors} server errors, {sum(failures.values())} failed checks, exit {exit_status} "
      f"(seed {seed}).\n")
print("| operation | requests | statuses |\n|---|---|---|")
for label in sorted(requests):
    seen = ", ".join(f"{code}×{n}" for code, n in sorted(statuses[label].items(), key=str))
    print(f"| `{label}` | {requests[label]} | {seen} |")
if failures:
    print("\n| operation | failed check | times |\n|---|---|---|")
    for (label, check), n in sorted(failures.items()):
        print(f"| `{label}` | {check} | {n} |")
