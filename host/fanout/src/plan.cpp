// `fanout plan`: how one packet to a receiver set is encoded, what BIER would cost, and the copies
// that reach every receiver. The copies are found by walking real frames: each hop parses the
// frame it got with parse_frame and builds its copies with build_frame, so every size printed is
// the size of a frame proto/ produced.
#include "fanout/cli/cli.hpp"
#include "fanout/cli/ids.hpp"
#include "fanout/cli/json_writer.hpp"
#include "fanout/proto/proto.hpp"

#include <iomanip>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

namespace fanout {
namespace cli {
namespace {

using namespace proto;

constexpr const char *kPlanErrorPrefix = "fanout plan: ";
constexpr const char *kPlanUsage = "usage: fanout plan --receivers LIST [--nodes N] [--fanout F] [--mode tree|ports]\n"
                                   "                   [--ports P] [--sender S] [--payload BYTES] [--json] [--full]\n"
                                   "  LIST: ids and inclusive ranges, e.g. 3,17,200 or 0-63,100\n";
// The largest payload that still fits a jumbo frame when the set body is as large as allowed.
constexpr uint32_t kMaxPayloadBytes = kMaxFrameBytes - kFixedHeadersBytes - kMaxSetBytes;
// Without --full, trees with more copies print only their first levels.
constexpr size_t kCopiesShownByDefault = 64;
constexpr uint32_t kPlanMessageId = 1;
constexpr uint32_t kBierCompareBsl = 256;

struct PlanOptions {
  std::string receivers;
  bool has_receivers = false;
  uint64_t nodes = kNodeIdSpace;
  uint64_t fanout = 4;
  std::string mode = "tree";
  uint64_t ports = 16;
  bool has_sender = false;
  uint64_t sender = 0;
  uint64_t payload = 1024;
  bool json = false;
  bool full = false;
  bool help = false;
};

// Returns an error message (without prefix), empty on success.
std::string parse_options(const std::vector<std::string> &args, PlanOptions &opt) {
  for (size_t i = 0; i < args.size(); i++) {
    const std::string &arg = args[i];
    if (arg == "-h" || arg == "--help") {
      opt.help = true;
      continue;
    }
    if (arg.compare(0, 2, "--") != 0) return "unexpected argument '" + arg + "'";
    std::string name = arg, value;
    bool has_inline_value = false;
    size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_inline_value = true;
    }
    if (name == "--json" || name == "--full") {
      if (has_inline_value) return "option " + name + " takes no value (got '" + arg + "')";
      (name == "--json" ? opt.json : opt.full) = true;
      continue;
    }
    uint64_t *number = name == "--nodes"     ? &opt.nodes
                       : name == "--fanout"  ? &opt.fanout
                       : name == "--ports"   ? &opt.ports
                       : name == "--sender"  ? &opt.sender
                       : name == "--payload" ? &opt.payload
                                             : nullptr;
    bool takes_text = name == "--receivers" || name == "--mode";
    if (!number && !takes_text) return "unknown option '" + name + "'";
    if (!has_inline_value) {
      // "--nodes --json" is a missing value, not the value "--json".
      if (i + 1 >= args.size() || args[i + 1].compare(0, 2, "--") == 0) return "option " + name + " needs a value";
      value = args[++i];
    }
    if (name == "--receivers") {
      opt.receivers = value;
      opt.has_receivers = true;
    } else if (name == "--mode") {
      if (value != "tree" && value != "ports") return "unknown mode '" + value + "': use tree or ports";
      opt.mode = value;
    } else if (!parse_number(value, *number)) {
      return "option " + name + ": '" + value + "' is not a number";
    } else if (name == "--sender") {
      opt.has_sender = true;
    }
  }
  return "";
}

std::string out_of_range(const char *option, uint64_t value, const std::string &rule) {
  return std::string("option ") + option + " " + std::to_string(value) + " is out of range: " + rule;
}

std::string check_ranges(const PlanOptions &opt) {
  if (opt.nodes < 1 || opt.nodes > kNodeIdSpace)
    return out_of_range("--nodes", opt.nodes, "N must be 1.." + std::to_string(kNodeIdSpace));
  if (!valid_fanout(opt.fanout > kMaxTreeFanout ? 0 : (uint32_t)opt.fanout))
    return out_of_range("--fanout", opt.fanout,
                        "F must be " + std::to_string(kMinTreeFanout) + ".." + std::to_string(kMaxTreeFanout));
  if (opt.ports < 2 || opt.ports > kMaxPorts)
    return out_of_range("--ports", opt.ports, "P must be 2.." + std::to_string(kMaxPorts));
  if (opt.payload > kMaxPayloadBytes)
    return out_of_range("--payload", opt.payload,
                        "at most " + std::to_string(kMaxPayloadBytes) + " bytes (a " + std::to_string(kMaxFrameBytes) +
                            "-byte frame less 64 header bytes and a " + std::to_string(kMaxSetBytes) + "-byte set)");
  if (opt.has_sender && opt.sender >= opt.nodes)
    return out_of_range("--sender", opt.sender, "ids must be < N = " + std::to_string(opt.nodes));
  return "";
}

// ---- The walk ---------------------------------------------------------------------------------

struct CopyLine {
  uint32_t packet = 0; // which of the sender's packets (sets over kMaxSetBytes need several)
  NodeId from = 0;
  NodeId to = 0;      // tree mode: the chunk head
  uint32_t port = 0;  // ports mode: the egress port
  uint32_t depth = 0; // hops from the sender
  uint32_t ids_count = 0;
  std::string ids;
  uint8_t encoding = kSetNone;
  uint32_t set_bytes = 0;
  uint32_t frame_bytes = 0;
};

struct WalkResult {
  std::vector<CopyLine> copies;
  std::vector<CopyLine> sender_frames; // ports mode: host -> switch, one per packet
  std::vector<uint32_t> reached;       // deliveries per node id
  uint32_t sender_copies = 0;
  uint32_t max_depth = 0;
  uint32_t looped = 0;
  uint32_t unroutable = 0;
  std::vector<std::string> errors;
};

CopyLine describe_frame(const std::vector<uint8_t> &frame, uint32_t frame_len, const ReceiverSet &ids) {
  FanoutHeader h = read_fanout_header(frame.data() + kFanoutOffset);
  CopyLine line;
  line.ids_count = ids.size();
  line.ids = compact_ids(ids);
  line.encoding = h.set_encoding;
  line.set_bytes = h.set_len;
  line.frame_bytes = frame_len;
  return line;
}

// Tree rule, depth first so copies come out in tree order. Scratch sets live per depth on the
// heap (a ReceiverSet is 16 KiB) and are reused by every node at that depth.
class TreeWalk {
 public:
  TreeWalk(uint32_t fanout, WalkResult &result) : fanout_(fanout), cfg_(default_parse_config()), result_(result) {}

  void visit(NodeId node, const uint8_t *frame, uint32_t len, uint32_t depth, uint32_t packet) {
    Level &level = level_at(depth);
    ParsedPacket parsed;
    int err = parse_frame(frame, len, cfg_, parsed, &level.parsed);
    if (err != kOk) {
      result_.errors.push_back("node " + std::to_string(node) + ": parse_frame: " + error_name(err));
      return;
    }
    if (level.parsed.contains(node)) {
      result_.reached[node]++;
      level.parsed.without(node, level.remaining); // the head is the chunk's first id: never splits a range
    } else {
      level.remaining.assign(level.parsed);
    }
    if (level.remaining.empty()) return;
    if (parsed.hdr.hops_left == 0) {
      result_.errors.push_back("node " + std::to_string(node) + ": hops exhausted");
      return;
    }
    Chunk chunks[kMaxTreeFanout];
    uint32_t n = tree_split(level.remaining, fanout_, chunks);
    for (uint32_t c = 0; c < n; c++) {
      level.remaining.slice(chunks[c].begin, chunks[c].end, level.chunk);
      FanoutHeader h = parsed.hdr;
      h.hops_left = (uint8_t)(h.hops_left - 1);
      h.origin = node;
      uint32_t out_len = 0;
      err = build_frame(cluster_net_headers(node, chunks[c].head, h.sender, h.message_id), h, level.chunk,
                        frame + parsed.payload_offset, parsed.payload_len, default_build_options(), level.frame.data(),
                        (uint32_t)level.frame.size(), &out_len);
      if (err != kOk) {
        result_.errors.push_back("node " + std::to_string(node) + ": build_frame: " + error_name(err));
        continue;
      }
      CopyLine line = describe_frame(level.frame, out_len, level.chunk);
      line.packet = packet;
      line.from = node;
      line.to = chunks[c].head;
      line.depth = depth + 1;
      result_.copies.push_back(line);
      if (depth == 0) result_.sender_copies++;
      if (depth + 1 > result_.max_depth) result_.max_depth = depth + 1;
      visit(chunks[c].head, level.frame.data(), out_len, depth + 1, packet);
    }
  }

 private:
  struct Level {
    ReceiverSet parsed;
    ReceiverSet remaining;
    ReceiverSet chunk;
    std::vector<uint8_t> frame = std::vector<uint8_t>(kMaxFrameBytes);
  };
  Level &level_at(uint32_t depth) {
    while (levels_.size() <= depth) levels_.push_back(std::make_unique<Level>());
    return *levels_[depth];
  }

  uint32_t fanout_;
  ParseConfig cfg_;
  WalkResult &result_;
  std::vector<std::unique_ptr<Level>> levels_; // stable addresses while deeper levels are added
};

struct Plan {
  PlanOptions opt;
  uint32_t nodes = 0;
  uint32_t fanout = 0;
  uint32_t ports = 0;
  NodeId sender = 0;
  bool sender_is_receiver = false;
  std::unique_ptr<LargeReceiverSet> set = std::make_unique<LargeReceiverSet>();
  SetCost cost;
  SetEncoding encoding = kSetNone;
  std::vector<IdRange> pieces; // the sender's packets (partition_for_packets)
  BierCost bier_best_cost{};
  BierCost bier_256{};
  WalkResult walk;

  uint32_t port_of(uint32_t id) const { return (uint32_t)((uint64_t)id * ports / nodes); }
  bool tree_mode() const { return opt.mode == "tree"; }
  uint32_t set_body() const { return cost.bytes(encoding); }
};

// The lowest id in [0, nodes) not in the set; when every id is a receiver, id 0 (which then
// delivers to itself and sends the rest).
NodeId default_sender(const LargeReceiverSet &set, uint32_t nodes) {
  uint32_t candidate = 0;
  for (uint32_t r = 0; r < set.range_count(); r++) {
    if (candidate < set.range(r).first) break;
    candidate = (uint32_t)set.range(r).last + 1;
  }
  return candidate < nodes ? (NodeId)candidate : (NodeId)0;
}

// The sender's host builds packet `p` (its piece of the set) as a DATA frame.
bool build_sender_frame(const Plan &plan, uint32_t p, const std::vector<uint8_t> &payload, const ReceiverSet &ids,
                        std::vector<uint8_t> &frame, uint32_t &frame_len, WalkResult &walk) {
  FanoutHeader h = make_header(kTypeData, plan.sender, plan.sender, kPlanMessageId, 0, (uint32_t)payload.size());
  h.flags = kFlagLast;
  BuildOptions endpoint = default_build_options();
  endpoint.udp_checksum = true; // endpoints may; relays send 0
  NodeId first_hop = ids.empty() ? plan.sender : ids.first_id();
  int err =
      build_frame(cluster_net_headers(plan.sender, first_hop, plan.sender, kPlanMessageId), h, ids, payload.data(),
                  (uint32_t)payload.size(), endpoint, frame.data(), (uint32_t)frame.size(), &frame_len);
  if (err != kOk) walk.errors.push_back("sender packet " + std::to_string(p + 1) + ": build_frame: " + error_name(err));
  return err == kOk;
}

void walk_tree(Plan &plan, const std::vector<uint8_t> &payload) {
  auto piece = std::make_unique<ReceiverSet>();
  std::vector<uint8_t> frame(kMaxFrameBytes);
  TreeWalk walker(plan.fanout, plan.walk);
  for (uint32_t p = 0; p < plan.pieces.size(); p++) {
    if (!intersect_range(*plan.set, plan.pieces[p].first, plan.pieces[p].last, *piece)) {
      plan.walk.errors.push_back("packet " + std::to_string(p + 1) + ": piece exceeds a ReceiverSet");
      continue;
    }
    uint32_t len = 0;
    // The sender's NIC parses what its host posted and applies the same rule as every relay.
    if (build_sender_frame(plan, p, payload, *piece, frame, len, plan.walk))
      walker.visit(plan.sender, frame.data(), len, 0, p);
  }
}

void walk_ports(Plan &plan, const std::vector<uint8_t> &payload) {
  WalkResult &walk = plan.walk;
  auto table = std::make_unique<PortTable>();
  for (uint32_t id = 0; id < plan.nodes; id++) table->set((NodeId)id, (uint8_t)plan.port_of(id));
  // The sender's host reaches the replicating switch through a host port of its own, not through
  // one of the P downlink ports, so no receiver is behind the ingress port (split horizon drops
  // none); a switch that receives from a downlink would drop ids routed back out of it.
  const uint8_t ingress = kPortNone;
  const ParseConfig cfg = default_parse_config();
  auto piece = std::make_unique<ReceiverSet>();
  auto to_switch = std::make_unique<ReceiverSet>();
  auto at_switch = std::make_unique<ReceiverSet>();
  auto at_port = std::make_unique<ReceiverSet>();
  std::vector<ReceiverSet> port_sets(kMaxPorts);
  std::vector<uint8_t> frame(kMaxFrameBytes), copy(kMaxFrameBytes);
  for (uint32_t p = 0; p < plan.pieces.size(); p++) {
    intersect_range(*plan.set, plan.pieces[p].first, plan.pieces[p].last, *piece);
    if (piece->contains(plan.sender)) {
      walk.reached[plan.sender]++; // its own host: delivered without the network
      piece->without(plan.sender, *to_switch);
    } else {
      to_switch->assign(*piece);
    }
    if (to_switch->empty()) continue;
    uint32_t len = 0;
    if (!build_sender_frame(plan, p, payload, *to_switch, frame, len, walk)) continue;
    CopyLine up = describe_frame(frame, len, *to_switch);
    up.packet = p;
    up.from = plan.sender;
    up.depth = 1;
    walk.sender_frames.push_back(up);
    walk.sender_copies++;

    ParsedPacket parsed;
    int err = parse_frame(frame.data(), len, cfg, parsed, at_switch.get());
    if (err != kOk) {
      walk.errors.push_back(std::string("switch: parse_frame: ") + error_name(err));
      continue;
    }
    PortSplitResult split = port_split(*at_switch, *table, plan.ports, ingress, port_sets.data());
    walk.looped += split.looped;
    walk.unroutable += split.unroutable;
    if (split.overflow) walk.errors.push_back("switch: port_split: a port's subset overflowed");
    for (uint32_t port = 0; port < plan.ports; port++) {
      if (port_sets[port].empty()) continue;
      FanoutHeader h = parsed.hdr;
      h.hops_left = (uint8_t)(h.hops_left - 1);
      uint32_t out_len = 0;
      // The switch has no node id of its own: its copies keep the sender as origin.
      err = build_frame(cluster_net_headers(plan.sender, port_sets[port].first_id(), h.sender, h.message_id), h,
                        port_sets[port], frame.data() + parsed.payload_offset, parsed.payload_len,
                        default_build_options(), copy.data(), (uint32_t)copy.size(), &out_len);
      if (err != kOk) {
        walk.errors.push_back("switch port " + std::to_string(port) + ": build_frame: " + error_name(err));
        continue;
      }
      ParsedPacket egress;
      err = parse_frame(copy.data(), out_len, cfg, egress, at_port.get());
      if (err != kOk) {
        walk.errors.push_back("port " + std::to_string(port) + ": parse_frame: " + error_name(err));
        continue;
      }
      for (uint32_t i = 0; i < at_port->size(); i++) walk.reached[at_port->at(i)]++;
      CopyLine line = describe_frame(copy, out_len, port_sets[port]);
      line.packet = p;
      line.from = plan.sender;
      line.port = port;
      line.depth = 2;
      walk.copies.push_back(line);
      walk.max_depth = 2;
    }
  }
}

// Every receiver reached exactly once and nothing else reached.
bool reached_exactly_once(const Plan &plan, uint32_t &reached_receivers) {
  reached_receivers = 0;
  uint64_t total = 0;
  bool once = true;
  for (uint32_t id = 0; id < plan.nodes; id++) total += plan.walk.reached[id];
  for (uint32_t r = 0; r < plan.set->range_count(); r++) {
    for (uint32_t id = plan.set->range(r).first; id <= plan.set->range(r).last; id++) {
      if (plan.walk.reached[id] >= 1) reached_receivers++;
      if (plan.walk.reached[id] != 1) once = false;
    }
  }
  return once && total == plan.set->size();
}

// ---- Output -----------------------------------------------------------------------------------

std::string bier_text(const BierCost &c) {
  return "BSL " + std::to_string(c.bsl) + ": " + std::to_string(c.copies) +
         (c.copies == 1 ? " copy x " : " copies x ") + std::to_string(c.bytes_per_copy) +
         " B = " + std::to_string(c.total_bytes) + " B";
}

// How many copies the default listing shows: whole levels while they fit kCopiesShownByDefault.
uint32_t levels_to_show(const WalkResult &walk, bool full) {
  if (full || walk.copies.size() <= kCopiesShownByDefault) return walk.max_depth;
  std::vector<size_t> per_depth(walk.max_depth + 1, 0);
  for (const CopyLine &c : walk.copies) per_depth[c.depth]++;
  uint32_t shown = 1;
  size_t count = per_depth[1];
  while (shown < walk.max_depth && count + per_depth[shown + 1] <= kCopiesShownByDefault) count += per_depth[++shown];
  return shown;
}

void print_text(const Plan &plan, std::ostream &out) {
  const WalkResult &walk = plan.walk;
  const uint32_t k = plan.set->size();
  const uint32_t body = plan.set_body();
  out << "fanout plan: " << k << " receivers of N = " << plan.nodes << " node ids (min " << plan.set->first_id()
      << ", max " << plan.set->last_id() << "), sender " << plan.sender
      << (plan.sender_is_receiver ? " (also a receiver: delivers to its own host)" : "") << ", payload "
      << plan.opt.payload << " B\n";
  out << "receiver set    " << encoding_name(plan.encoding) << " (shortest of list " << plan.cost.list_bytes()
      << " B, ranges " << plan.cost.ranges_bytes() << " B, bitmap " << plan.cost.bitmap_bytes() << " B)\n";
  out << "addressing      " << kAddressingFixedBytes + body << " B (" << kAddressingFixedBytes << " fixed + " << body
      << " set body)\n";
  out << "header/packet   " << kFixedHeadersBytes + body << " B (Ethernet " << kEthHeaderBytes << " + IPv4 "
      << kIpv4HeaderBytes << " + UDP " << kUdpHeaderBytes << " + Fanout " << kFanoutHeaderBytes << " + set " << body
      << ")\n";
  if (plan.pieces.size() == 1) {
    out << "packets         1 (set body fits the " << kMaxSetBytes << "-byte limit)\n";
  } else {
    out << "packets         " << plan.pieces.size() << " (set body over " << kMaxSetBytes
        << " B: cut by partition_for_packets, each packet carries its piece)\n";
  }
  out << "BIER            best " << bier_text(plan.bier_best_cost) << "; " << bier_text(plan.bier_256) << "\n";

  const uint32_t shown_depth = levels_to_show(walk, plan.opt.full);
  size_t shown = 0;
  if (plan.tree_mode()) {
    out << "replication tree (tree rule, F = " << plan.fanout
        << "; each copy built by build_frame, parsed by parse_frame at the next hop)\n";
  } else {
    out << "replicating switch with " << plan.ports << " ports: node id i on port i*" << plan.ports << "/" << plan.nodes
        << " (contiguous blocks of about " << (plan.nodes + plan.ports - 1) / plan.ports
        << " ids); the sender's host is attached to the switch through a host port of its own\n";
  }
  uint32_t current_packet = UINT32_MAX;
  auto packet_heading = [&](uint32_t packet) {
    if (plan.pieces.size() > 1 && packet != current_packet) {
      out << "  packet " << packet + 1 << " of " << plan.pieces.size() << ": ids " << plan.pieces[packet].first << "-"
          << plan.pieces[packet].last << "\n";
    }
    current_packet = packet;
  };
  auto copy_tail = [&](const CopyLine &c) {
    out << "  ids=" << c.ids << "  k=" << c.ids_count << "  set=" << encoding_name(c.encoding) << " " << c.set_bytes
        << "B  frame=" << c.frame_bytes << "B\n";
  };
  if (plan.tree_mode()) {
    for (const CopyLine &c : walk.copies) {
      if (c.depth > shown_depth) continue;
      packet_heading(c.packet);
      out << std::string(2 * c.depth, ' ') << c.from << " -> " << c.to;
      copy_tail(c);
      shown++;
    }
  } else {
    size_t next_copy = 0;
    for (const CopyLine &up : walk.sender_frames) {
      packet_heading(up.packet);
      out << "  " << up.from << " -> switch (host port)";
      copy_tail(up);
      for (; next_copy < walk.copies.size() && walk.copies[next_copy].packet == up.packet; next_copy++) {
        const CopyLine &c = walk.copies[next_copy];
        if (c.depth > shown_depth) continue;
        uint32_t block_first = (uint32_t)(((uint64_t)c.port * plan.nodes + plan.ports - 1) / plan.ports);
        uint32_t block_last = (uint32_t)(((uint64_t)(c.port + 1) * plan.nodes + plan.ports - 1) / plan.ports) - 1;
        out << "    switch -> port " << c.port << " (ids " << block_first << "-" << block_last << ")";
        copy_tail(c);
        shown++;
      }
    }
  }
  if (shown < walk.copies.size()) {
    out << "  ... (" << walk.copies.size() - shown << " more copies below depth " << shown_depth
        << "; --full lists every copy)\n";
  }
  for (const std::string &e : walk.errors) out << "error: " << e << "\n";

  uint32_t reached = 0;
  bool once = reached_exactly_once(plan, reached);
  out << "copies sent by the sender   " << walk.sender_copies << "\n";
  out << "total copies                " << walk.copies.size() + (plan.tree_mode() ? 0 : walk.sender_frames.size())
      << "\n";
  if (plan.tree_mode()) {
    out << "max depth                   " << walk.max_depth << " (bound ceil(log_" << plan.fanout << " " << k
        << ") + 1 = " << depth_bound(k, plan.fanout) << ")\n";
  } else {
    out << "dropped by the port rule    " << walk.looped << " would loop (back out of the ingress port), "
        << walk.unroutable << " unroutable\n";
    out << "receivers reached           " << reached << " of " << k << "\n";
  }
  out << "every receiver reached exactly once: " << (once ? "yes" : "no") << "\n";
}

void write_bier(JsonWriter &json, const char *key, const BierCost &c) {
  json.begin_object(key);
  json.field("bsl", c.bsl);
  json.field("copies", c.copies);
  json.field("bytes_per_copy", c.bytes_per_copy);
  json.field("total_bytes", c.total_bytes);
  json.end_object();
}

void write_copy(JsonWriter &json, const CopyLine &c, bool tree_mode) {
  json.begin_object();
  json.field("packet", c.packet);
  if (tree_mode) {
    json.field("from", (uint32_t)c.from);
    json.field("to", (uint32_t)c.to);
    json.field("depth", c.depth);
  } else {
    json.field("port", c.port);
  }
  json.field("ids_count", c.ids_count);
  json.field("ids", c.ids);
  json.field("encoding", encoding_name(c.encoding));
  json.field("set_bytes", c.set_bytes);
  json.field("frame_bytes", c.frame_bytes);
  json.end_object();
}

void print_json(const Plan &plan, std::ostream &out) {
  const WalkResult &walk = plan.walk;
  const uint32_t k = plan.set->size();
  uint32_t reached = 0;
  bool once = reached_exactly_once(plan, reached);
  JsonWriter json(out);
  json.begin_object();
  json.field("mode", plan.opt.mode);
  json.field("nodes", plan.nodes);
  if (plan.tree_mode()) {
    json.field("fanout", plan.fanout);
  } else {
    json.field("ports", plan.ports);
  }
  json.field("sender", (uint32_t)plan.sender);
  json.field("sender_is_receiver", plan.sender_is_receiver);
  json.field("payload_bytes", (uint64_t)plan.opt.payload);
  json.begin_object("receivers");
  json.field("count", k);
  json.field("min", (uint32_t)plan.set->first_id());
  json.field("max", (uint32_t)plan.set->last_id());
  json.field("ids", compact_ids(*plan.set));
  json.end_object();
  json.field("encoding", encoding_name(plan.encoding));
  json.begin_object("set_bytes");
  json.field("list", plan.cost.list_bytes());
  json.field("ranges", plan.cost.ranges_bytes());
  json.field("bitmap", plan.cost.bitmap_bytes());
  json.end_object();
  json.field("set_body_bytes", plan.set_body());
  json.field("addressing_bytes", kAddressingFixedBytes + plan.set_body());
  json.field("header_bytes", kFixedHeadersBytes + plan.set_body());
  json.field("packets", (uint64_t)plan.pieces.size());
  write_bier(json, "bier_best", plan.bier_best_cost);
  write_bier(json, "bier_bsl_256", plan.bier_256);
  if (plan.tree_mode()) {
    json.begin_array("tree");
  } else {
    json.begin_array("switch_ingress");
    for (const CopyLine &c : walk.sender_frames) write_copy(json, c, false);
    json.end_array();
    json.begin_array("port_copies");
  }
  for (const CopyLine &c : walk.copies) write_copy(json, c, plan.tree_mode());
  json.end_array();
  json.field("sender_copies", walk.sender_copies);
  json.field("total_copies", (uint64_t)(walk.copies.size() + (plan.tree_mode() ? 0 : walk.sender_frames.size())));
  json.field("max_depth", walk.max_depth);
  if (plan.tree_mode()) json.field("depth_bound", depth_bound(k, plan.fanout));
  if (!plan.tree_mode()) {
    json.field("looped", walk.looped);
    json.field("unroutable", walk.unroutable);
  }
  json.field("receivers_reached", reached);
  json.field("reached_exactly_once", once);
  json.begin_array("errors");
  for (const std::string &e : walk.errors) json.field(nullptr, e);
  json.end_array();
  json.end_object();
  json.finish();
}

} // namespace

int run_plan(const std::vector<std::string> &args, std::ostream &out, std::ostream &err) {
  Plan plan;
  PlanOptions &opt = plan.opt;
  std::string problem = parse_options(args, opt);
  if (problem.empty() && opt.help) {
    out << kPlanUsage;
    return kExitOk;
  }
  if (problem.empty()) problem = check_ranges(opt);
  if (problem.empty() && !opt.has_receivers) problem = "missing option --receivers LIST";
  IdListResult ids;
  if (problem.empty()) {
    ids = parse_id_list(opt.receivers, (uint32_t)opt.nodes);
    if (!ids.ok) problem = ids.error;
  }
  if (!problem.empty()) {
    err << kPlanErrorPrefix << problem << "\n";
    return kExitUsage;
  }

  plan.nodes = (uint32_t)opt.nodes;
  plan.fanout = (uint32_t)opt.fanout;
  plan.ports = (uint32_t)opt.ports;
  for (const IdRange &r : ids.ranges) plan.set->append_range(r.first, r.last);
  plan.sender = opt.has_sender ? (NodeId)opt.sender : default_sender(*plan.set, plan.nodes);
  plan.sender_is_receiver = plan.set->contains(plan.sender);
  plan.cost = set_cost(*plan.set);
  plan.encoding = plan.cost.best_encoding();
  uint32_t npieces = partition_for_packets(*plan.set, kMaxSetBytes, nullptr, 0);
  plan.pieces.resize(npieces);
  partition_for_packets(*plan.set, kMaxSetBytes, plan.pieces.data(), npieces);
  plan.bier_best_cost = bier_best(*plan.set);
  plan.bier_256 = bier_cost(*plan.set, kBierCompareBsl);

  std::vector<uint8_t> payload(opt.payload);
  for (size_t i = 0; i < payload.size(); i++) payload[i] = (uint8_t)(i * 31 + 7);
  plan.walk.reached.assign(kNodeIdSpace, 0);
  if (plan.tree_mode()) {
    walk_tree(plan, payload);
  } else {
    walk_ports(plan, payload);
  }

  if (opt.json) {
    print_json(plan, out);
  } else {
    print_text(plan, out);
  }
  uint32_t reached = 0;
  bool tree_ok = !plan.tree_mode() || reached_exactly_once(plan, reached);
  return plan.walk.errors.empty() && tree_ok ? kExitOk : kExitCheckFailed;
}

} // namespace cli
} // namespace fanout
