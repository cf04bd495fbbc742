// fanout-sim report: runs one scenario's workloads in every replication mode (unicast fan-out,
// BIER, Fanout tree, Fanout port), each mode in its own child fanout-sim process on identical
// traffic, plus a sweep over k and a header-size analysis, and writes report/index.html and
// report/README.md with tables and plots (docs/report.md).
//
// C++17. Namespace fanout::sim.
#pragma once

namespace fanout::sim {

// argv[0] is "report"; the rest are report flags and scenario flags. Returns the exit status:
// 0 every run checked out and delivered identically, 1 some check failed (the report is still
// written), 2 bad input.
int report_main(int argc, char *argv[]);

} // namespace fanout::sim
