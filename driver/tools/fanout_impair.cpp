// fanout-impair: the impairment relay as a program (impair.hpp). Runs until SIGINT/SIGTERM or
// --duration-s, then prints each route's counters.
//
//   fanout-impair --route 127.0.0.1:47201=127.0.0.1:47101 --drop 0.05 --reorder 0.02 --seed 7
#include "impair.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) {
  g_stop = 1;
}

int usage(const char *problem) {
  if (problem) std::fprintf(stderr, "fanout-impair: %s\n", problem);
  std::fprintf(stderr,
               "usage: fanout-impair --route LISTEN=TARGET [--route ...] [--drop P] [--duplicate P]\n"
               "                     [--reorder P] [--reorder-delay-us N] [--corrupt P] [--corrupt-span BYTES]\n"
               "                     [--seed N] [--duration-s N]\n"
               "  LISTEN, TARGET: <IPv4>:<port>; P: probability 0..1 per datagram, every route;\n"
               "  --corrupt-span: flip bits only in the first BYTES bytes (22: the Fanout header)\n");
  return 2;
}

bool parse_probability(const char *text, double *out) {
  char *end = nullptr;
  double v = std::strtod(text, &end);
  if (!end || *end || v < 0 || v > 1) return false;
  *out = v;
  return true;
}

} // namespace

int main(int argc, char **argv) {
  using namespace fanout::driver::tools;
  std::vector<ImpairRoute> routes;
  ImpairOptions o;
  uint64_t seed = 1;
  long duration_s = 0;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") return usage(nullptr), 0;
    if (i + 1 >= argc) return usage(("option " + a + " needs a value").c_str());
    const char *v = argv[++i];
    if (a == "--route") {
      std::string r = v;
      size_t eq = r.find('=');
      if (eq == std::string::npos) return usage("--route is LISTEN=TARGET");
      routes.push_back(ImpairRoute{r.substr(0, eq), r.substr(eq + 1), {}});
    } else if (a == "--drop" || a == "--duplicate" || a == "--reorder" || a == "--corrupt") {
      double p = 0;
      if (!parse_probability(v, &p)) return usage((a + " must be a probability 0..1").c_str());
      (a == "--drop" ? o.drop : a == "--duplicate" ? o.duplicate : a == "--reorder" ? o.reorder : o.corrupt) = p;
    } else if (a == "--corrupt-span") {
      o.corrupt_span = (uint32_t)std::strtoul(v, nullptr, 10);
    } else if (a == "--reorder-delay-us") {
      o.reorder_delay_us = (uint32_t)std::strtoul(v, nullptr, 10);
    } else if (a == "--seed") {
      seed = std::strtoull(v, nullptr, 10);
    } else if (a == "--duration-s") {
      duration_s = std::strtol(v, nullptr, 10);
    } else {
      return usage(("unknown option " + a).c_str());
    }
  }
  if (routes.empty()) return usage("at least one --route");
  for (ImpairRoute &r : routes) r.options = o;
  std::string error;
  std::unique_ptr<ImpairRelay> relay = ImpairRelay::start(routes, seed, &error);
  if (!relay) {
    std::fprintf(stderr, "fanout-impair: %s\n", error.c_str());
    return 1;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  for (long t = 0; !g_stop && (duration_s == 0 || t < duration_s * 10); t++)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  relay->stop();
  for (size_t i = 0; i < routes.size(); i++) {
    ImpairCounters c = relay->counters(i);
    std::printf("%s -> %s: received %llu forwarded %llu dropped %llu duplicated %llu reordered %llu corrupted %llu\n",
                routes[i].listen.c_str(), routes[i].target.c_str(), (unsigned long long)c.received,
                (unsigned long long)c.forwarded, (unsigned long long)c.dropped, (unsigned long long)c.duplicated,
                (unsigned long long)c.reordered, (unsigned long long)c.corrupted);
  }
  return 0;
}
