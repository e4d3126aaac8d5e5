"""The plot of the ratios ours/peer (ratios.dat, ratios.gp, drawn by gnuplot as ratios.png and
ratios.svg) beside --out's results.md."""

import os
import shutil
import subprocess


def write_plot(res, out):
    peers = res.peers()
    rows = [(b, m) for b, m, _, _ in res.rows if any(res.ratio((b, m), p) for p in peers)]
    if not rows or not peers:
        return False
    with open(os.path.join(out, "ratios.dat"), "w") as f:
        f.write("# metric " + " ".join(f"vmm/{p}" for p in peers) + "\n")
        for b, m in rows:
            label = f"{b}: {m}".replace('"', "'")
            vals = [res.ratio((b, m), p) for p in peers]
            f.write(f'"{label}" ' + " ".join(f"{v:.4f}" if v else "NaN" for v in vals) + "\n")
    ratios = [r for b, m in rows for r in (res.ratio((b, m), p) for p in peers) if r]
    lo, hi = min(ratios + [1.0]) / 2, max(ratios + [1.0]) * 2
    plots = ", ".join(
        f"'ratios.dat' using {i + 2}:xtic(1) title 'vmm / {p}'" for i, p in enumerate(peers))
    script = f"""# gnuplot: ratio of medians, ours / peer, per metric (log scale; 1 = same)
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y 10
set yrange [{lo:.6g}:{hi:.6g}]
set format y '%g'
set grid ytics
set ylabel 'vmm / peer (median); < 1: lower value for vmm'
set xtics rotate by -30 left font ',8'
set key outside right top vertical
set datafile missing 'NaN'
set bmargin 12
set rmargin 8
set arrow from graph 0, first 1 to graph 1, first 1 nohead dashtype 2 lw 2
set title 'vmm vs QEMU: ratio of medians (blk, net, fio, iperf3: higher is better)'
set terminal pngcairo size 1200,700
set output 'ratios.png'
plot {plots}
set terminal svg size 1200,700 dynamic
set output 'ratios.svg'
replot
"""
    with open(os.path.join(out, "ratios.gp"), "w") as f:
        f.write(script)
    if not shutil.which("gnuplot"):
        res.note("plot: gnuplot not installed (apt-get install gnuplot-nox): ratios.gp written, "
                 "not drawn")
        return False
    p = subprocess.run(["gnuplot", "ratios.gp"], cwd=out, capture_output=True, text=True)
    if p.returncode != 0:
        res.note(f"plot: gnuplot failed: {p.stderr.strip()[:200]}")
        return False
    return True
