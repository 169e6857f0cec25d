"""Is the floor true on Twilio's real rules? (issue 14)

One run, two phases on the same simulated floor (speech on, supervisors joining,
switching and leaving through the API with their own keys):

1. clean: nothing lost. The reconciler must repair nothing (a repair on a correct
   floor is a false one: it was, once, every whisper on every pass).
2. lossy: the simulator drops --drop of its callbacks. Its retries follow Twilio's
   connection overrides (once on a connection failure by default; a drop is never
   retried), so what is lost stays lost until the reconciler's next pass.

Throughout, every second or two the floor Earpiece shows is compared with the
simulator's truth, call by call: who is connected, muted, on hold, coaching, and each
supervisor's monitor. A difference is timed from when it is first seen until it is
gone; the bench prints how many there were and the worst and p95 time to correct,
against one reconciler period (the bound Earpiece states).

Not in CI: 40 minutes by default.

    python -m bench.truth [--minutes 30] [--lossy-minutes 10] [--drop 0.01]
                          [--conferences 150] [--reconcile-seconds 30]
"""

from __future__ import annotations

import argparse
import random
import threading
import time
from typing import Any

import httpx

from bench.common import API_TOKEN, percentile, personal_key
from bench.sim_floor import simulated_floor
from bench.soak import metrics

SAMPLE_SECONDS = 2.0
SUPERVISORS = ("mina", "quincy")  # the demo roster's manager (every mode) and QA (listen)


def truth(sim_url: str) -> dict[str, Any]:
    """The simulator's live calls: {cf: {call_sid: (muted, hold, coaching, label)}}."""
    state = httpx.get(sim_url + "/sim/state", timeout=60).json()
    out: dict[str, Any] = {}
    for c in state["conferences"]:
        if c["status"] == "completed":  # init (a caller waiting for an agent) is live too
            continue
        out[c["sid"]] = {p["call_sid"]: (p["muted"], p["hold"], p["coaching"], p["label"])
                         for p in c["participants"] if p["status"] == "connected"}  # fmt: skip
    return out


def shown(service_url: str) -> dict[str, Any]:
    """What Earpiece shows, in the same shape, plus each connected monitor's leg."""
    answer = httpx.get(service_url + "/api/conferences", timeout=60,
                       headers={"Authorization": f"Bearer {API_TOKEN}"})  # fmt: skip
    out: dict[str, Any] = {}
    for c in answer.json()["conferences"]:
        people = {p["call_sid"]: (p["muted"], p["hold"], p["coaching"], p["label"])
                  for p in c["participants"]}  # fmt: skip
        monitors = {m["call_sid"] for m in c["monitors"] if m["status"] == "connected"}
        out[c["sid"]] = (people, monitors)
    return out


def differences(real: dict[str, Any], seen: dict[str, Any]) -> set[str]:
    """Keys of what differs: a call, a participant's flags, or a supervisor's monitor."""
    out: set[str] = set()
    for sid, people in real.items():
        if sid not in seen:
            out.add(f"{sid}:missing")
            continue
        got, monitors = seen[sid]
        for call, flags in people.items():
            mine = got.get(call)
            # The label Earpiece shows may be one it learnt (TaskRouter); compare flags.
            if mine is None or mine[:3] != flags[:3]:
                out.add(f"{sid}:{call}")
            if (flags[3] or "").startswith("supervisor:") and call not in monitors:
                out.add(f"{sid}:{call}:monitor")
        out.update(f"{sid}:{call}:gone" for call in got if call not in people)
    out.update(f"{sid}:ended" for sid in seen if sid not in real)
    return out


class Supervisors(threading.Thread):
    """Supervisors at work through the API: join a live call, switch modes, leave."""

    def __init__(self, service_url: str, keys: dict[str, str], sim_url: str) -> None:
        super().__init__(daemon=True)
        self.service_url, self.keys, self.sim_url = service_url, keys, sim_url
        self.stop = False
        self.actions = 0
        self.rng = random.Random(3)

    def run(self) -> None:
        with httpx.Client(base_url=self.service_url, timeout=30) as http:
            while not self.stop:
                time.sleep(self.rng.uniform(2, 6))
                who = self.rng.choice(SUPERVISORS)
                auth = {"Authorization": f"Bearer {self.keys[who]}"}
                live = list(truth(self.sim_url))
                if not live:
                    continue
                sid = self.rng.choice(live)
                modes = ["listen", "whisper", "barge"] if who == "mina" else ["listen"]
                try:
                    answer = http.post(f"/api/conferences/{sid}/monitors", headers=auth,
                                       json={"mode": "listen", "takeover": True})  # fmt: skip
                    if answer.status_code == 201:
                        time.sleep(self.rng.uniform(3, 8))
                        http.patch(
                            f"/api/conferences/{sid}/monitors/{who}",
                            headers=auth,
                            json={"mode": self.rng.choice(modes), "takeover": True},
                        )
                        time.sleep(self.rng.uniform(3, 8))
                        http.delete(f"/api/conferences/{sid}/monitors/{who}", headers=auth)
                    self.actions += 1
                except httpx.HTTPError:
                    continue


def phase(floor: Any, minutes: float, period: float) -> tuple[list[float], dict[str, float]]:
    """Watch the floor for `minutes`: the time each difference took to be corrected."""
    open_since: dict[str, float] = {}
    durations: list[float] = []
    shown_slow = [0]
    before = metrics(floor.service.url)
    ends = time.monotonic() + minutes * 60
    while time.monotonic() < ends:
        started = time.monotonic()
        try:
            now_different = differences(truth(floor.sim_url), shown(floor.service.url))
        except httpx.HTTPError:
            continue
        for key in now_different:
            open_since.setdefault(key, started)
        for key in [k for k in open_since if k not in now_different]:
            durations.append(started - open_since.pop(key))
            if durations[-1] > 3 * SAMPLE_SECONDS and shown_slow[0] < 10:
                shown_slow[0] += 1
                print(f"    {key} differed for {durations[-1]:.0f} s", flush=True)
        time.sleep(max(0.0, SAMPLE_SECONDS - (time.monotonic() - started)))
    # What is still open at the end counts as open until now (not hidden by the cut).
    durations += [time.monotonic() - t for t in open_since.values()]
    slow = sorted(open_since, key=open_since.get)[:5]  # type: ignore[arg-type]
    if slow:
        print(f"    still different at the end: {slow}", flush=True)
    after = metrics(floor.service.url)
    repairs = {k.split('kind="')[1].rstrip('"}'): after[k] - before.get(k, 0.0)
               for k in after if k.startswith("earpiece_reconciler_repairs_total")}  # fmt: skip
    return durations, repairs


def report(name: str, durations: list[float], repairs: dict[str, float], period: float) -> None:
    worst = max(durations, default=0.0)
    lasting = [d for d in durations if d > SAMPLE_SECONDS * 1.5]
    print(f"  {name}: {len(durations)} differences seen, {len(lasting)} lasting past one "
          f"sample ({SAMPLE_SECONDS * 1.5:g} s); time to correct p95 "
          f"{percentile(durations, 95):.1f} s, worst {worst:.1f} s "
          f"(one reconciler period + a sample: {period + SAMPLE_SECONDS:g} s, "
          f"{'within' if worst <= period + 2 * SAMPLE_SECONDS else 'PAST'})")  # fmt: skip
    print(f"  {name}: reconciler repairs {int(sum(repairs.values()))} "
          f"{ {k: int(v) for k, v in sorted(repairs.items()) if v} }")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=30, help="the clean phase")
    parser.add_argument("--lossy-minutes", type=float, default=10)
    parser.add_argument("--drop", type=float, default=0.01)
    parser.add_argument("--conferences", type=int, default=150)
    parser.add_argument("--reconcile-seconds", type=float, default=30)
    args = parser.parse_args()

    period = str(args.reconcile_seconds)
    with simulated_floor("truth", args.conferences, EARPIECE_RECONCILE_SECONDS=period) as floor:
        keys = {who: personal_key(floor.redis_url, floor.namespace, who) for who in SUPERVISORS}
        crew = Supervisors(floor.service.url, keys, floor.sim_url)
        crew.start()
        time.sleep(10)  # the prefill's callbacks land
        print(
            f"truth: ~{args.conferences} live calls with speech, supervisors joining, "
            f"switching and leaving; reconcile every {args.reconcile_seconds:g} s",
            flush=True,
        )
        clean = phase(floor, args.minutes, args.reconcile_seconds)
        report(f"clean, {args.minutes:g} min", *clean, args.reconcile_seconds)
        httpx.put(floor.sim_url + "/sim/reliability", json={"drop": args.drop}, timeout=10)
        lossy = phase(floor, args.lossy_minutes, args.reconcile_seconds)
        stats = httpx.get(floor.sim_url + "/sim/state", timeout=60).json()["callbacks"]
        report(f"{args.drop:.0%} dropped, {args.lossy_minutes:g} min", *lossy,
               args.reconcile_seconds)  # fmt: skip
        crew.stop = True
        print(f"  callbacks: sent {stats['sent']}, dropped {stats.get('dropped', 0)}, retried "
              f"{stats.get('retried', 0)}, failed {stats.get('failed', 0)}; supervisor actions "
              f"{crew.actions}")  # fmt: skip


if __name__ == "__main__":
    main()
