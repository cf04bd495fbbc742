// `fanout card`: an Alveo card running the Fanout design, through XRT (fanout/driver/card.hpp).
//   info      the device, the loaded xclbin; with --xclbin, that file's check and compute units
//   load      load an xclbin (refused unless its registers sit where this build expects them), then
//             read the shell's register blocks back
//   counters  every counter of the design (kernels' read-only registers, link monitor)
//   link      per MAC port: PHY up, marked down, down events, PROBEs sent
// counters and link use the xclbin already on the card, or load --xclbin first.
#include "fanout/driver/card.hpp"
#include "fanout/cli/cli.hpp"

#include <iomanip>
#include <memory>
#include <ostream>
#include <sstream>

namespace fanout {
namespace cli {

namespace {

constexpr const char *kCardUsage =
    "usage: fanout card info [--device D] [--xclbin FILE]\n"
    "       fanout card load FILE [--device D]\n"
    "       fanout card counters [--device D] [--xclbin FILE]\n"
    "       fanout card link [--device D] [--xclbin FILE]\n"
    "  An Alveo card running Fanout, through XRT (docs/alveo.md). D: a device index (default 0) or a\n"
    "  PCIe BDF. info: the device and its loaded xclbin; with --xclbin, checks that file's register\n"
    "  map against this build and lists its compute units. load: loads FILE and reads the shell's\n"
    "  register blocks back. counters, link: read the card (--xclbin: load FILE first).\n";

void print_cus(const std::vector<driver::CardCu> &cus, std::ostream &out) {
  out << "compute units:\n";
  for (const driver::CardCu &cu : cus) {
    std::ostringstream base;
    if (cu.base == ~0ull)
      base << "no registers";
    else
      base << "base 0x" << std::hex << cu.base;
    out << "  " << std::left << std::setw(42) << cu.name << " " << std::setw(16) << base.str()
        << (cu.free_running ? " free-running (ap_ctrl_none)" : " started by the host (ap_ctrl_hs)") << "\n";
  }
}

} // namespace

int run_card(const std::vector<std::string> &args, std::ostream &out, std::ostream &err) {
  if (args.empty() || args[0] == "-h" || args[0] == "--help") {
    (args.empty() ? err : out) << kCardUsage;
    return args.empty() ? kExitUsage : kExitOk;
  }
  const std::string sub = args[0];
  if (sub != "info" && sub != "load" && sub != "counters" && sub != "link") {
    err << "fanout card: unknown subcommand '" << sub << "': use info, load, counters or link\n";
    return kExitUsage;
  }
  std::string device = "0", xclbin;
  for (size_t i = 1; i < args.size(); i++) {
    const std::string &a = args[i];
    if (a == "-h" || a == "--help") {
      out << kCardUsage;
      return kExitOk;
    }
    if (a == "--device" || a == "--xclbin") {
      if (i + 1 == args.size()) {
        err << "fanout card " << sub << ": option " << a << " needs a value\n";
        return kExitUsage;
      }
      (a == "--device" ? device : xclbin) = args[++i];
    } else if (sub == "load" && xclbin.empty() && a.rfind("--", 0) != 0) {
      xclbin = a;
    } else {
      err << "fanout card " << sub << ": unknown argument '" << a << "'\n" << kCardUsage;
      return kExitUsage;
    }
  }
  if (sub == "load" && xclbin.empty()) {
    err << "fanout card load: which xclbin? fanout card load FILE\n";
    return kExitUsage;
  }

  std::string error;
  std::unique_ptr<driver::Card> card = driver::Card::open(device, &error);
  if (!card) {
    err << "fanout card " << sub << ": " << error << "\n";
    return kExitCheckFailed;
  }
  std::string loaded = card->xclbin_uuid();
  if (sub == "info") {
    out << "device " << device << ": " << (card->name().empty() ? "(no name)" : card->name());
    if (!card->bdf().empty()) out << ", PCIe " << card->bdf();
    out << "\nloaded xclbin: " << (loaded.empty() ? "none" : loaded) << "\n";
    if (xclbin.empty()) return kExitOk;
    std::vector<driver::CardCu> cus;
    if (!card->check(xclbin, &cus, &error)) {
      err << "fanout card info: " << error << "\n";
      return kExitCheckFailed;
    }
    out << xclbin << ": a Fanout design, every register where this build expects it\n";
    print_cus(cus, out);
    return kExitOk;
  }

  if (!xclbin.empty()) {
    if (!card->load(xclbin, &error)) {
      err << "fanout card " << sub << ": " << error << "\n";
      return kExitCheckFailed;
    }
    if (sub == "load") {
      out << "loaded " << xclbin << " (" << card->xclbin_uuid() << ") on device " << device << "\n";
      print_cus(card->cus(), out);
    }
    if (!card->discover(&error)) {
      err << "fanout card " << sub << ": loaded, but the shell's registers do not answer: " << error << "\n";
      return kExitCheckFailed;
    }
    if (sub == "load") {
      out << "registers: the shell's nic and link blocks answer with their type and version ids\n";
      return kExitOk;
    }
  } else if (!card->attach(&error)) {
    err << "fanout card " << sub << ": " << error << "\n";
    return kExitCheckFailed;
  }

  if (sub == "counters") {
    std::vector<driver::CardRegister> regs;
    if (!card->counters(&regs, &error)) {
      err << "fanout card counters: " << error << "\n";
      return kExitCheckFailed;
    }
    for (const driver::CardRegister &r : regs)
      out << std::left << std::setw(22) << r.cu << std::setw(28) << r.name << std::right << std::setw(12) << r.value
          << "\n";
    return kExitOk;
  }
  std::vector<driver::Card::PortLink> ports;
  if (!card->link(&ports, &error)) {
    err << "fanout card link: " << error << "\n";
    return kExitCheckFailed;
  }
  out << "port  phy   state  down-events  probes-sent\n";
  bool all_up = true;
  for (const driver::Card::PortLink &p : ports) {
    out << std::setw(4) << p.port << "  " << (p.phy_up ? "up  " : "DOWN") << "  " << (p.marked_down ? "down " : "up   ")
        << std::setw(12) << p.down_events << std::setw(13) << p.probes_sent << "\n";
    all_up = all_up && p.phy_up && !p.marked_down;
  }
  return all_up ? kExitOk : kExitCheckFailed;
}

} // namespace cli
} // namespace fanout
