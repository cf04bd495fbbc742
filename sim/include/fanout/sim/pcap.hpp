// pcap files with nanosecond timestamps (magic 0xa1b23c4d, written in host byte order as the
// format allows), LINKTYPE_ETHERNET. Readable by tshark/Wireshark/tcpdump.
#ifndef FANOUT_SIM_PCAP_HPP
#define FANOUT_SIM_PCAP_HPP

#include <cstdint>
#include <cstdio>
#include <string>

#include "fanout/sim/frame.hpp"

namespace fanout {
namespace sim {

class PcapWriter {
 public:
  static constexpr uint32_t kMagicNanoseconds = 0xa1b23c4d;
  static constexpr uint32_t kLinkTypeEthernet = 1;
  static constexpr uint32_t kSnapLen = 262144;

  PcapWriter() = default;
  explicit PcapWriter(const std::string &path) { open(path); }
  ~PcapWriter();
  PcapWriter(const PcapWriter &) = delete;
  PcapWriter &operator=(const PcapWriter &) = delete;

  // Create (truncate) path and write the file header. Throws std::runtime_error naming the path.
  void open(const std::string &path);
  // One record: timestamp t (nanoseconds), the frame's bytes (cut to kSnapLen).
  void write(const Frame &f, sc_core::sc_time t);
  void flush();
  void close();
  bool is_open() const { return file_ != nullptr; }
  uint64_t records() const { return records_; }
  const std::string &path() const { return path_; }

 private:
  std::FILE *file_ = nullptr;
  std::string path_;
  uint64_t records_ = 0;
};

} // namespace sim
} // namespace fanout

#endif
