#!/usr/bin/env python3
"""Builds every test binary of the workspace once, then runs them several at
a time, the slowest first (what cargo-nextest does, without a tool to
install: on CI's two cores, compiling nextest would cost more than it saves).

`cargo test` runs its binaries one after another, and most of adpipe's long
ones spend their time waiting (a lease running out, a disk filling, a
process starting). Here they overlap, each binary still runs its own tests
in parallel as it always does, and every binary's output is kept and shown
whole when it fails.

A binary that takes the machine's services away (it imports the testkit's
`services`: chaos and faults restart PostgreSQL and RabbitMQ, which every
other test uses) runs alone, before the others.

    scripts/run-tests.py [CARGO ARGS...] [-- TEST BINARY ARGS...]

CARGO ARGS select what is built (`--workspace --locked`, `-p adpipe-api`,
`--test chaos`); TEST BINARY ARGS go to every binary (a name filter,
`--nocapture`). ADPIPE_TEST_JOBS sets how many binaries run at once
(default 2). Each binary's time is kept in target/test-times.json, and the
next run starts the slowest first.

Exits non-zero when the build fails or any binary fails; each failure is
named with the command that reruns it.
"""

import concurrent.futures
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMES = ROOT / "target" / "test-times.json"
# What a first run (no times kept) starts first: the binaries known to take
# minutes, so that they do not end up last and alone.
RUNNING = re.compile(r"^running \d+ tests?$")
COUNTED = ("passed", "failed", "ignored", "measured", "filtered out")
SLOW_FIRST = ["chaos", "disk", "faults", "pipeline", "hostile", "text_quality"]


def build(cargo_args):
    """Compiles the test binaries; returns (name, package, executable, cwd) for each."""
    command = [
        "cargo", "test", "--no-run", "--message-format=json-render-diagnostics", *cargo_args,
    ]
    print("run-tests: " + " ".join(command), file=sys.stderr, flush=True)
    built = subprocess.run(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    if built.returncode != 0:
        sys.exit(built.returncode)
    binaries = []
    for line in built.stdout.splitlines():
        if not line.startswith("{"):
            continue
        message = json.loads(line)
        if message.get("reason") != "compiler-artifact" or not message.get("executable"):
            continue
        if not message["profile"]["test"]:
            continue
        target = message["target"]
        # Benchmarks are built (they must compile) but not run: criterion's
        # figures come from `cargo bench`.
        if "bench" in target["kind"]:
            continue
        package = message["package_id"]
        package_name = package_name_of(package, message["manifest_path"])
        kind = "lib" if target["kind"][0] in ("lib", "rlib", "proc-macro") else target["kind"][0]
        label = f"{package_name} {kind} {target['name']}" if kind != "test" else f"{package_name} --test {target['name']}"
        binaries.append(
            {
                "exclusive": takes_services_away(target["src_path"]),
                "label": label,
                "name": target["name"],
                "package": package_name,
                "kind": kind,
                "executable": message["executable"],
                "cwd": str(Path(message["manifest_path"]).parent),
            }
        )
    return binaries


def takes_services_away(source):
    try:
        text = Path(source).read_text()
    except OSError:
        return False
    return re.search(r"\bservices::", text) is not None


def package_name_of(package_id, manifest_path):
    # "path+file:///…/adpipe-api#0.1.0" or "adpipe-api 0.1.0 (path+…)".
    if "#" in package_id:
        tail = package_id.rsplit("#", 1)[1]
        if "@" in tail:
            return tail.split("@", 1)[0]
        return Path(manifest_path).parent.name if tail[0].isdigit() else tail
    return package_id.split(" ", 1)[0]


def rerun_command(binary):
    if binary["kind"] == "test":
        return f"cargo test -p {binary['package']} --test {binary['name']}"
    if binary["kind"] == "bin":
        return f"cargo test -p {binary['package']} --bin {binary['name']}"
    return f"cargo test -p {binary['package']} --lib"


def package_env(binary):
    env = dict(os.environ)
    # What `cargo test` sets for a running test.
    env["CARGO_MANIFEST_DIR"] = binary["cwd"]
    env["CARGO_PKG_NAME"] = binary["package"]
    env.setdefault("RUST_BACKTRACE", "1")
    return env


def main():
    args = sys.argv[1:]
    if "--" in args:
        split = args.index("--")
        cargo_args, binary_args = args[:split], args[split + 1 :]
    else:
        cargo_args, binary_args = args, []
    binaries = build(cargo_args)
    if not binaries:
        print("run-tests: no test binary was built", file=sys.stderr)
        return 1
    jobs = max(1, int(os.environ.get("ADPIPE_TEST_JOBS", "2")))
    try:
        known = json.loads(TIMES.read_text())
    except (OSError, ValueError):
        known = {}

    def expected(binary):
        if binary["label"] in known:
            return known[binary["label"]]
        return 1000 - SLOW_FIRST.index(binary["name"]) if binary["name"] in SLOW_FIRST else 0

    binaries.sort(key=expected, reverse=True)
    print(
        f"run-tests: {len(binaries)} test binaries, {jobs} at a time, the slowest first",
        file=sys.stderr,
        flush=True,
    )
    lock = threading.Lock()
    summaries = []
    started_all = time.monotonic()

    def run(binary):
        started = time.monotonic()
        finished = subprocess.run(
            [binary["executable"], *binary_args],
            cwd=binary["cwd"],
            env=package_env(binary),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
        )
        seconds = time.monotonic() - started
        summary = next(
            (line for line in reversed(finished.stdout.splitlines()) if line.startswith("test result:")),
            f"exit {finished.returncode}",
        )
        if summary.startswith("test result:"):
            summaries.append(summary)
        with lock:
            status = "ok    " if finished.returncode == 0 else "FAILED"
            print(f"{status} {seconds:7.1f} s  {binary['label']}: {summary}", file=sys.stderr, flush=True)
            # Cargo's own lines too, unprefixed, for whoever reads the log
            # the way they read `cargo test`'s (a CI counting tests run).
            running = next((line for line in finished.stdout.splitlines() if RUNNING.match(line)), None)
            print(f"     Running {binary['label']} ({binary['executable']})", flush=True)
            if running:
                print(running, flush=True)
            if summary.startswith("test result:"):
                print(summary + "\n", flush=True)
            if finished.returncode != 0:
                print(f"----- {binary['label']} (rerun: {rerun_command(binary)}) -----", file=sys.stderr)
                print(finished.stdout, file=sys.stderr)
                print(f"----- end of {binary['label']} -----", file=sys.stderr, flush=True)
        return binary, finished.returncode, seconds

    alone = [binary for binary in binaries if binary["exclusive"]]
    together = [binary for binary in binaries if not binary["exclusive"]]
    if alone:
        print(
            "run-tests: alone first (they stop the machine's services): "
            + ", ".join(binary["label"] for binary in alone),
            file=sys.stderr,
            flush=True,
        )
    results = [run(binary) for binary in alone]
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        results += list(pool.map(run, together))

    failed = [binary for binary, code, _ in results if code != 0]
    times = dict(known)
    times.update({binary["label"]: round(seconds, 1) for binary, _, seconds in results})
    TIMES.parent.mkdir(parents=True, exist_ok=True)
    TIMES.write_text(json.dumps(times, indent=1, sort_keys=True) + "\n")
    total = time.monotonic() - started_all
    busy = sum(seconds for _, _, seconds in results)
    counts = dict.fromkeys(COUNTED, 0)
    for summary in summaries:
        for count, what in re.findall(r"(\d+) (passed|failed|ignored|measured|filtered out)", summary):
            counts[what] += int(count)
    verdict = "ok" if not failed else "FAILED"
    # One line in cargo's words for the whole run, with the sums of every
    # binary's own line above.
    print(
        f"test result: {verdict}. "
        + "; ".join(f"{counts[what]} {what}" for what in COUNTED)
        + f"; finished in {total:.2f}s (all {len(results)} test binaries)",
        flush=True,
    )
    print(
        f"run-tests: {len(results) - len(failed)} of {len(results)} binaries passed in {total:.0f} s"
        f" ({busy:.0f} s of tests, {jobs} at a time)",
        file=sys.stderr,
    )
    for binary in failed:
        print(f"run-tests: FAILED {binary['label']}: {rerun_command(binary)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
