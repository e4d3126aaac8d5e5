"""The table: every value by benchmark, metric and VMM, in first-seen order; the medians, the
ranges and the ratios ours/peer, printed as one Markdown table."""

import os
import statistics
import sys

from .config import CPUS, EMULATED_KVM, MEM


class Results:
    def __init__(self):
        self.rows = []      # (bench, metric, unit, better) in first-seen order
        self.values = {}    # (bench, metric) -> impl -> [values]
        self.impls = []
        self.notes = []
        self.failures = []

    def add(self, bench, metric, unit, better, impl, value):
        key = (bench, metric)
        if key not in self.values:
            self.rows.append((bench, metric, unit, better))
            self.values[key] = {}
        if impl not in self.impls:
            self.impls.append(impl)
        self.values[key].setdefault(impl, []).append(value)

    def fail(self, bench, impl, why, run=None):
        msg = f"{bench}: {impl}: {why}"
        if run is not None:
            tail = (run.out[-600:] + b"\n--- stderr ---\n" + run.err[-600:]).decode(errors="replace")
            msg += f" (status {run.status})\n    " + tail.replace("\n", "\n    ")
        self.failures.append(msg)
        print("FAIL: " + msg, file=sys.stderr)

    def note(self, text):
        self.notes.append(text)

    def medians(self, key):
        return {impl: statistics.median(v) for impl, v in self.values[key].items() if v}

    def ratio(self, key, peer):
        med = self.medians(key)
        if "vmm" in med and peer in med and med[peer]:
            return med["vmm"] / med[peer]
        return None

    def peers(self):
        return [i for i in self.impls if i != "vmm"]

    def table(self, runs):
        peers = self.peers()
        head = ["bench", "metric", "better", "vmm"] + peers + [f"vmm/{p}" for p in peers]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for bench, metric, unit, better in self.rows:
            key = (bench, metric)
            cells = [bench, f"{metric} ({unit})", better]
            for impl in ["vmm"] + peers:
                v = self.values[key].get(impl)
                cells.append(fmt_cell(v) if v else "—")
            for p in peers:
                r = self.ratio(key, p)
                cells.append(f"{r:.3g}" if r is not None else "—")
            lines.append("| " + " | ".join(cells) + " |")
        kvm = "emulated KVM (kvm_pvm)" if EMULATED_KVM else ("KVM" if os.path.exists("/dev/kvm") else "TCG")
        out = [f"Host: {kvm}, {os.cpu_count()} CPUs. Guests: {MEM} RAM, {CPUS} vCPU. "
               f"Runs per VMM: {runs} (alternating). Cells: median (min–max)."]
        out += [""] + lines
        if self.notes:
            out += [""] + [f"- {n}" for n in self.notes]
        return "\n".join(out) + "\n"


def fmt_num(x):
    if x == 0 or abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def fmt_cell(values):
    med = statistics.median(values)
    if len(values) == 1:
        return fmt_num(med)
    return f"{fmt_num(med)} ({fmt_num(min(values))}–{fmt_num(max(values))})"
