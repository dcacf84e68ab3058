#!/usr/bin/env python3
"""greedy_green: an external scheduling policy for Suanli, in Python 3.

It picks the feasible site where the workload's power draws the least
grid carbon now, sites that meet the deadline first, ties by network RTT,
and names every candidate in that order (the simulator places the work
at the first one where a node has room). Copy it and change `rank`.

Run it with the simulator (docs/external-policy.md has the protocol):

    go run ./cmd/suanli sim scenarios/shandong-baseline.yaml \\
        --policy greenest,external:green \\
        --external green='python3 examples/policies/greedy_green.py'

It reads one JSON object per line on stdin and writes one per line on
stdout; anything for humans goes to stderr (external-green.log in the
output directory). Standard library only.
"""

import json
import sys

PROTOCOL = 1


def send(msg):
    sys.stdout.write(json.dumps(msg, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def rank(req, sites, energy):
    """The candidates' site IDs, best first."""
    w = req["workload"]
    cores = w["cpu_milli"] / 1000
    gpus = w.get("gpu_milli", 0) / 1000

    def key(c):
        info, e = sites[c["site"]], energy[c["site"]]
        # facility kW of the work's power at this site
        kw = (cores * info["marginal_w_per_core"] + gpus * info["marginal_w_per_gpu"]) * e["pue"] / 1000
        # renewable headroom (green-power contracts included) covers it first
        grid = 1.0
        if kw > 0:
            grid = 1 - min(max(e["headroom_kw"], 0) / kw, 1)
        return (c.get("late", False), e["carbon"] * e["pue"] * grid, c["rtt_ms"])

    return [c["site"] for c in sorted(req["candidates"], key=key)]


def main():
    hello = json.loads(sys.stdin.readline())
    if hello.get("type") != "hello" or hello.get("protocol") != PROTOCOL:
        send({"type": "ready", "protocol": PROTOCOL,
              "error": "greedy_green speaks protocol %d, got %r" % (PROTOCOL, hello.get("protocol"))})
        return 1
    sites = {s["id"]: s for s in hello["sites"]}
    energy = {}  # latest signals per site: requests send only changes
    print("greedy_green: %s, seed %d, %d sites" % (hello["scenario"], hello["seed"], len(sites)), file=sys.stderr)
    send({"type": "ready", "protocol": PROTOCOL})

    for line in sys.stdin:
        req = json.loads(line)
        for e in req.get("energy", []):
            energy[e["site"]] = e
        send({"type": "place", "seq": req["seq"], "id": req["workload"]["id"],
              "sites": rank(req, sites, energy)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
