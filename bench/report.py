"""The benchmark's tables: medians of the rounds, ratios of the pairs, and the targets."""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Iterable

from bench.contenders import App, contenders
from bench.generation import OFFLINE, yaml_lists
from bench.measures import Results, Round

X = "\N{MULTIPLICATION SIGN}"


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def figure(runs: list[Round], key: str) -> float:
    return median(float(getattr(r, key)) for r in runs)


def starts(runs: list[Round], first: bool) -> list[float]:
    """Every warm start of every round, or each round's first start (a fresh container's)."""
    if first:
        return [r.starts[0] for r in runs]
    return [t for r in runs for t in r.starts[1:]]


def ratio(top: list[Round], bottom: list[Round], key: str) -> float:
    """The median of the per-round ratios (one round: both measured within it)."""

    def value(r: Round) -> float:
        if key == "start":
            return median(r.starts[1:])
        if key == "fresh start":
            return r.starts[0]
        return float(getattr(r, key))

    return median(value(a) / value(b) for a, b in zip(top, bottom, strict=True))


def kilobytes(value: float) -> str:
    return f"{value / 1e3:,.1f} kB" if value < 1e6 else f"{value / 1e6:,.1f} MB"


def report_images(results: Results, apps: list[App]) -> list[tuple[str, bool, str]]:
    print(
        "| app | contender | cold build | code-only rebuild | dependency-change rebuild | "
        "start (fresh container) | image | over its base | a code change pushes | "
        "docker stop (exit) | Debian packages | shell |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for app in apps:
        for contender in contenders(app):
            runs = results[app.name, contender.label]
            cells = [f"{figure(runs, k):.2f} s" for k in ("cold", "rebuild", "dependency")]
            if contender.who == "floor":
                cells.append("")
            else:
                warm, first = starts(runs, False), starts(runs, True)
                cells.append(f"{median(warm) * 1e3:.0f} ms ({median(first) * 1e3:.0f} ms)")
            once = runs[0]
            cells.append(f"{once.size / 1e6:.1f} MB")
            cells.append(f"{once.overhead / 1e6:+.2f} MB")
            cells.append(kilobytes(once.pushed))
            if once.stop is not None:
                seconds, code = once.stop
                cells.append(f"{seconds:.2f} s ({code})")
            else:
                cells.append("")
            cells += [str(once.packages), "yes" if once.shell else "no"]
            print(f"| {app.name} | {contender.label} | " + " | ".join(cells) + " |")

    print()
    print(
        "| app | contender | rebuild / floor | cold / guide | dependency change / guide | "
        "start / ours uv | start / guide | fresh start / guide | code change pushes / floor's |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    targets: list[tuple[str, bool, str]] = []
    for app in apps:
        guide = results.get((app.name, "guide"))
        uv = results[app.name, "ours uv"]
        for contender in contenders(app):
            if contender.who == "floor":
                continue
            runs = results[app.name, contender.label]
            floor = results[app.name, f"floor {contender.base_image}"]
            rebuild = ratio(runs, floor, "rebuild")
            cells = [f"{rebuild:.2f}"]
            cold = slim_start = None
            if guide is not None and contender.who == "ours":
                cold = ratio(runs, guide, "cold")
                cells += [f"{cold:.2f}", f"{ratio(runs, guide, 'dependency'):.2f}"]
            else:
                cells += ["", ""]
            if contender.label == "ours python-slim":
                slim_start = ratio(runs, uv, "start")
                cells.append(f"{slim_start:.2f}")
            else:
                cells.append("")
            cells.append(f"{ratio(runs, guide, 'start'):.2f}" if guide else "")
            cells.append(f"{ratio(runs, guide, 'fresh start'):.2f}" if guide else "")
            pushed = runs[0].pushed / floor[0].pushed
            cells.append(f"{pushed:.2f}")
            print(f"| {app.name} | {contender.label} | " + " | ".join(cells) + " |")
            if contender.who != "ours":
                continue
            where = f"{app.name}, {contender.base_image}"
            limit = 1.15
            note = " (the package kind may pay its wheel build)" if app.kind == "package" else ""
            targets.append(
                (
                    f"rebuild ≤ {limit}{X} floor{note}",
                    rebuild <= limit,
                    f"{where}: {rebuild:.2f}{X}",
                )
            )
            if cold is not None:
                targets.append((f"cold ≤ 1.3{X} guide", cold <= 1.3, f"{where}: {cold:.2f}{X}"))
            if slim_start is not None:
                targets.append(
                    (
                        f"python-slim start ≤ 1.1{X} uv's",
                        slim_start <= 1.1,
                        f"{app.name}: {slim_start:.2f}{X}",
                    )
                )
    return targets + report_probes(results, apps)


def report_probes(results: Results, apps: list[App]) -> list[tuple[str, bool, str]]:
    """The service's health probe: its CPU time per probe, against an import of the app."""
    rows = [
        (app.name, contender.label, figures)
        for app in apps
        for contender in contenders(app)
        if (figures := results[app.name, contender.label][0].probe) is not None
    ]
    if not rows:
        return []
    print()
    print("| app | contender | CPU per health probe | CPU per `import main` | probe / import |")
    print("|---|---|---|---|---|")
    targets = []
    for app_name, label, (probe, imports) in rows:
        share = probe / imports
        cells = [f"{probe * 1e3:.0f} ms", f"{imports * 1e3:.0f} ms", f"{share:.2f}"]
        print(f"| {app_name} | {label} | " + " | ".join(cells) + " |")
        targets.append(
            (f"health probe ≤ 0.5{X} the app's imports", share <= 0.5, f"{label}: {share:.2f}{X}")
        )
    return targets


def report_generation(
    times: dict[str, list[float]], profile: dict[str, object]
) -> tuple[str, bool, str]:
    def paired(top: str, bottom: str) -> float:
        return median(a / b for a, b in zip(times[top], times[bottom], strict=True))

    online = paired("ours", "one-file + uv lock")
    cached = paired("ours" + OFFLINE, "one-file + uv lock" + OFFLINE)
    print("| generation | median |")
    print("|---|---|")
    for key, values in times.items():
        print(f"| {key} | {median(values):.2f} s |")
    print(f"| **ours / (one-file + uv lock)**, paired | **{online:.2f}{X}** |")
    print(f"| **ours / (one-file + uv lock), uv offline**, paired | **{cached:.2f}{X}** |")
    skipped = paired("ours --skip-tasks", "one-file copy")
    print(
        f"| ours --skip-tasks / one-file copy (no lock on either side), paired | {skipped:.2f}{X} |"
    )
    print()
    print(
        f"cProfile of one `copier copy --skip-tasks` of ours ({profile['total']:.2f} s under the "
        f"profiler): {profile['compile']} Jinja compilations (Environment.compile), "
        f"{profile['from_string']} from_string calls, {profile['render_value']} render_value "
        "calls (Copier's questions)."
    )
    print()
    print("| where the time goes (profiled, cumulative) | calls | seconds |")
    print("|---|---|---|")
    for label, calls, seconds in profile["phases"]:  # type: ignore[attr-defined]
        print(f"| {label} | {calls} | {seconds:.2f} s |")
    print()
    tally: dict[str, dict[str, list[float]]] = profile["tally"]  # type: ignore[assignment]
    lists = yaml_lists()

    def rows(kind: str, limit: int) -> None:
        ranked = sorted(tally[kind].items(), key=lambda item: -item[1][1])
        for name, (count, seconds) in ranked[:limit]:
            note = f" (`type: yaml`, a list of {lists[name]} strings)" if name in lists else ""
            print(f"| {name}{note} | {count} | {seconds * 1e3:.0f} ms |")
        count = sum(c for c, _ in tally[kind].values())
        seconds = sum(t for _, t in tally[kind].values())
        print(f"| (all) | {count} | {seconds * 1e3:.0f} ms |")

    print("| Jinja compiled for (unprofiled) | from_string | time |")
    print("|---|---|---|")
    rows("compile", 10)
    print()
    print("| compiled by (Copier's Question method) | from_string | time |")
    print("|---|---|---|")
    rows("by_attribute", 8)
    print()
    print("| `type: yaml` answer parsed (unprofiled) | parses | time |")
    print("|---|---|---|")
    rows("yaml", 6)
    if lists:
        print(
            "\n`type: yaml` questions whose default is a YAML list, each string of it compiled "
            "on every copy: " + ", ".join(f"{n} ({c})" for n, c in sorted(lists.items()))
        )
    else:
        print("\nNo `type: yaml` default is a YAML list: each is one string, compiled once.")
    return (
        f"generation ≤ 1.25{X} one-file + uv lock",
        online <= 1.25 and cached <= 1.25,
        f"{online:.2f}{X} (uv reaching PyPI), {cached:.2f}{X} (uv offline, from its cache)",
    )


def machine_line() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}"
