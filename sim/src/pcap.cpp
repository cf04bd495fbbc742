#include "fanout/sim/pcap.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace fanout {
namespace sim {

namespace {
struct FileHeader {
  uint32_t magic;
  uint16_t version_major;
  uint16_t version_minor;
  int32_t thiszone;
  uint32_t sigfigs;
  uint32_t snaplen;
  uint32_t linktype;
};
struct RecordHeader {
  uint32_t ts_sec;
  uint32_t ts_nsec;
  uint32_t incl_len;
  uint32_t orig_len;
};
static_assert(sizeof(FileHeader) == 24 && sizeof(RecordHeader) == 16, "pcap header layout");
} // namespace

PcapWriter::~PcapWriter() {
  if (file_) std::fclose(file_);
}

void PcapWriter::open(const std::string &path) {
  close();
  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f) throw std::runtime_error("pcap: cannot open '" + path + "' for writing: " + std::strerror(errno));
  FileHeader h{kMagicNanoseconds, 2, 4, 0, 0, kSnapLen, kLinkTypeEthernet};
  if (std::fwrite(&h, sizeof h, 1, f) != 1) {
    std::fclose(f);
    throw std::runtime_error("pcap: cannot write to '" + path + "'");
  }
  file_ = f;
  path_ = path;
  records_ = 0;
}

void PcapWriter::write(const Frame &f, sc_core::sc_time t) {
  if (!file_) throw std::logic_error("pcap: write() before open()");
  // Nanoseconds since time 0 (sc_time / 1 ns is exact below 2^53 resolution units).
  uint64_t ns = (uint64_t)(t / sc_core::sc_time(1, sc_core::SC_NS));
  uint32_t len = (uint32_t)f.bytes.size();
  uint32_t incl = len < kSnapLen ? len : kSnapLen;
  RecordHeader r{(uint32_t)(ns / 1000000000u), (uint32_t)(ns % 1000000000u), incl, len};
  if (std::fwrite(&r, sizeof r, 1, file_) != 1 || (incl && std::fwrite(f.bytes.data(), 1, incl, file_) != incl)) {
    throw std::runtime_error("pcap: write to '" + path_ + "' failed");
  }
  records_++;
}

void PcapWriter::flush() {
  if (file_) std::fflush(file_);
}

void PcapWriter::close() {
  if (!file_) return;
  int rc = std::fclose(file_);
  file_ = nullptr;
  if (rc != 0) throw std::runtime_error("pcap: closing '" + path_ + "' failed");
}

} // namespace sim
} // namespace fanout
