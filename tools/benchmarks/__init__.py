"""Benchmarks of our VMM side by side with QEMU, run as `tools/bench` (usage: __main__.py).

One module per benchmark (startup.py, blk.py, net.py, ... named as the user types them, `-` as
`_`), each a bench_NAME(env, res, args) that runs its VMMs alternately and adds its rows; the
order `all` runs them in is catalog.py's. What they share:
  config.py     the guests' size, the peers of each benchmark, QEMU's machines
  launchers.py  the command lines of our VMM and of QEMU (Env)
  vm.py         running a VM and watching its output (run_vm, LiveVM)
  runner.py     the alternating order of the runs, the peers this host can run
  results.py    the values, their medians and ratios, the Markdown table
  plot.py       the gnuplot plot of the ratios
  control.py    our HTTP API and QEMU's QMP, timed
  guests.py     the default Linux guest and its shell
  netns.py      a network namespace with a tap and one virtio_net_bench VM in it
  rootfs.py     the Debian root file system of fio and iperf3
  net_host.py   a program: the Python host side of the net rows (also test_net_bench.py's)
  host_alone.py the "host alone" implementation: the guest's I/O pattern with no guest
"""
