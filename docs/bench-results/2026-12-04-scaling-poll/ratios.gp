# gnuplot: ratio of medians, ours / peer, per metric (log scale; 1 = same)
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y 10
set yrange [0.0081629:124.617]
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
plot 'ratios.dat' using 2:xtic(1) title 'vmm / qemu-iothread', 'ratios.dat' using 3:xtic(1) title 'vmm / host', 'ratios.dat' using 4:xtic(1) title 'vmm / qemu-microvm'
set terminal svg size 1200,700 dynamic
set output 'ratios.svg'
replot
