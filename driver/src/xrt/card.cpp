// fanout::driver::Card over XRT (xrt::device, xrt::xclbin, xrt::ip). Without XRT: card_none.cpp.
#include "fanout/driver/card.hpp"

#include "fanout/proto/host_dma.hpp"
#include "fanout/regs.hpp"

#include <experimental/xrt_ip.h>
#include <experimental/xrt_xclbin.h>
#include <xclbin.h>
#include <xrt/xrt_bo.h>
#include <xrt/xrt_device.h>
#include <xrt/xrt_kernel.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace fanout::driver {
namespace {

std::string hex(uint64_t v) {
  std::ostringstream s;
  s << "0x" << std::hex << v;
  return s.str();
}

bool noop_shim() {
  const char *mode = std::getenv("XCL_EMULATION_MODE");
  return mode && std::string(mode) == "noop";
}

// What XRT said, and why when it is the noop shim's doing.
std::string xrt_error(const std::exception &e) {
  std::string m = e.what();
  if (noop_shim())
    m += " (XCL_EMULATION_MODE=noop: XRT's noop shim has no card behind it and implements no register "
         "access; docs/alveo.md)";
  return m;
}

// Every Fanout kernel with every register at this build's offset (regs.hpp), or the first mismatch.
bool check_xclbin(const xrt::xclbin &x, const std::string &what, std::string *error) {
  std::map<std::string, xrt::xclbin::kernel> kernels;
  for (const xrt::xclbin::kernel &k : x.get_kernels()) kernels[k.get_name()] = k;
  if (!kernels.count(kShellKernel)) {
    *error = what + ": no kernel " + kShellKernel + ": not a Fanout design (docs/alveo.md)";
    return false;
  }
  for (const regs::KernelInfo &ki : regs::kKernels) {
    auto it = kernels.find(ki.top);
    if (it == kernels.end()) {
      *error = what + ": no kernel " + ki.top + ": not a Fanout design, or built from another register map";
      return false;
    }
    std::map<std::string, xrt::xclbin::arg> args;
    for (const xrt::xclbin::arg &a : it->second.get_args()) args[a.get_name()] = a;
    for (const regs::KernelRegisterInfo &r : regs::kKernelRegisters) {
      if (std::string(r.kernel) != ki.name) continue;
      auto a = args.find(r.name);
      if (a == args.end()) {
        *error = what + ": kernel " + ki.top + " has no argument " + r.name + " (this libfanout expects it at " +
                 hex(r.offset) + ")";
        return false;
      }
      if (a->second.get_offset() != r.offset) {
        *error = what + ": kernel " + ki.top + ", register " + r.name + " at " + hex(a->second.get_offset()) +
                 ", this libfanout has it at " + hex(r.offset) + " (rebuild one from the other's fanout_regs.yaml)";
        return false;
      }
    }
  }
  return true;
}

// The index of the kernel argument at a register offset (the xclbin's own layout, so an xclbin
// from another register map is caught here too), or -1.
int arg_at(const xrt::kernel &k, uint32_t offset) {
  for (int i = 0; i < 16; i++) {
    try {
      if (k.offset(i) == offset) return i;
    } catch (const std::exception &) {
      // past the last argument, or a stream argument (no offset)
    }
  }
  return -1;
}

class XrtDma final : public CardDma {
 public:
  XrtDma(const xrt::device &dev, const xrt::uuid &uuid, uint32_t bytes) : bytes_(bytes) {
    h2c_ = xrt::kernel(dev, uuid, regs::h2c::kKernelName);
    c2h_ = xrt::kernel(dev, uuid, regs::c2h::kKernelName);
    h2c_src_ = arg_at(h2c_, regs::h2c::kSrc);
    h2c_beats_ = arg_at(h2c_, regs::h2c::kBeats);
    c2h_dst_ = arg_at(c2h_, regs::c2h::kDst);
    c2h_capacity_ = arg_at(c2h_, regs::c2h::kCapacityBeats);
    c2h_idle_ = arg_at(c2h_, regs::c2h::kIdleClocks);
    if (h2c_src_ < 0 || h2c_beats_ < 0 || c2h_dst_ < 0 || c2h_capacity_ < 0 || c2h_idle_ < 0)
      throw std::runtime_error("the data movers' arguments are not at this libfanout's register offsets");
    for (int i = 0; i < 2; i++) {
      tx_[i] = xrt::bo(dev, bytes, h2c_.group_id(h2c_src_));
      rx_[i] = xrt::bo(dev, bytes, c2h_.group_id(c2h_dst_));
      tx_map_[i] = tx_[i].map<uint8_t *>();
      rx_map_[i] = rx_[i].map<uint8_t *>();
    }
  }
  uint32_t buffer_bytes() const override { return bytes_; }
  uint8_t *tx_buffer(int i) override { return tx_map_[i]; }
  const uint8_t *rx_buffer(int i) const override { return rx_map_[i]; }
  uint64_t runs() const override { return runs_; }

  bool tx_start(int i, uint32_t beats, std::string *error) override {
    try {
      tx_[i].sync(XCL_BO_SYNC_BO_TO_DEVICE, (size_t)beats * proto::kDmaBeatBytes, 0);
      tx_run_[i] = xrt::run(h2c_);
      tx_run_[i].set_arg(h2c_src_, tx_[i]);
      tx_run_[i].set_arg(h2c_beats_, beats);
      tx_run_[i].start();
      tx_pending_[i] = true;
      runs_++;
      return true;
    } catch (const std::exception &e) {
      *error = std::string(regs::h2c::kKernelName) + ": " + xrt_error(e);
      return false;
    }
  }
  bool tx_wait(int i, std::string *error) override {
    if (!tx_pending_[i]) return true;
    try {
      ert_cmd_state st = tx_run_[i].wait();
      tx_pending_[i] = false;
      if (st != ERT_CMD_STATE_COMPLETED) {
        *error = std::string(regs::h2c::kKernelName) + ": run ended in state " + std::to_string((int)st);
        return false;
      }
      return true;
    } catch (const std::exception &e) {
      *error = std::string(regs::h2c::kKernelName) + ": " + xrt_error(e);
      return false;
    }
  }
  bool rx_start(int i, uint32_t idle_clocks, std::string *error) override {
    try {
      std::memset(rx_map_[i], 0, proto::kDmaBeatBytes); // no header until the kernel writes one
      rx_[i].sync(XCL_BO_SYNC_BO_TO_DEVICE, proto::kDmaBeatBytes, 0);
      rx_run_[i] = xrt::run(c2h_);
      rx_run_[i].set_arg(c2h_dst_, rx_[i]);
      rx_run_[i].set_arg(c2h_capacity_, bytes_ / proto::kDmaBeatBytes);
      rx_run_[i].set_arg(c2h_idle_, idle_clocks);
      rx_run_[i].start();
      runs_++;
      return true;
    } catch (const std::exception &e) {
      *error = std::string(regs::c2h::kKernelName) + ": " + xrt_error(e);
      return false;
    }
  }
  int rx_poll(int i, std::string *error) override {
    try {
      ert_cmd_state st = rx_run_[i].state();
      if (st == ERT_CMD_STATE_NEW || st == ERT_CMD_STATE_QUEUED || st == ERT_CMD_STATE_RUNNING ||
          st == ERT_CMD_STATE_SUBMITTED)
        return 0;
      if (st != ERT_CMD_STATE_COMPLETED) {
        *error = std::string(regs::c2h::kKernelName) + ": run ended in state " + std::to_string((int)st);
        return -1;
      }
      // The header first: it says how many beats the run wrote.
      rx_[i].sync(XCL_BO_SYNC_BO_FROM_DEVICE, 64, 0);
      uint32_t used = proto::dma_get_le32(rx_map_[i] + proto::kC2hHdrBeatsUsedOff);
      if (used > 1 && (uint64_t)used * proto::kDmaBeatBytes <= bytes_)
        rx_[i].sync(XCL_BO_SYNC_BO_FROM_DEVICE, (size_t)(used - 1) * proto::kDmaBeatBytes, proto::kDmaBeatBytes);
      return 1;
    } catch (const std::exception &e) {
      *error = std::string(regs::c2h::kKernelName) + ": " + xrt_error(e);
      return -1;
    }
  }

 private:
  uint32_t bytes_;
  xrt::kernel h2c_, c2h_;
  int h2c_src_ = -1, h2c_beats_ = -1, c2h_dst_ = -1, c2h_capacity_ = -1, c2h_idle_ = -1;
  xrt::bo tx_[2], rx_[2];
  uint8_t *tx_map_[2] = {}, *rx_map_[2] = {};
  xrt::run tx_run_[2], rx_run_[2];
  bool tx_pending_[2] = {};
  uint64_t runs_ = 0;
};

class XrtCard final : public Card {
 public:
  explicit XrtCard(xrt::device d) : dev_(std::move(d)) {}

  std::string name() const override {
    try {
      return dev_.get_info<xrt::info::device::name>();
    } catch (const std::exception &) {
      return "";
    }
  }
  std::string bdf() const override {
    try {
      return dev_.get_info<xrt::info::device::bdf>();
    } catch (const std::exception &) {
      return "";
    }
  }
  std::string xclbin_uuid() const override {
    try {
      xrt::uuid u = dev_.get_xclbin_uuid();
      return u ? u.to_string() : "";
    } catch (const std::exception &) {
      return "";
    }
  }

  bool check(const std::string &path, std::vector<CardCu> *cus, std::string *error) const override {
    try {
      xrt::xclbin x(path);
      if (!check_xclbin(x, path, error)) return false;
      *cus = cus_of(x);
      return true;
    } catch (const std::exception &e) {
      *error = path + ": " + e.what();
      return false;
    }
  }

  bool attach(std::string *error) override {
    try {
      xrt::uuid u = dev_.get_xclbin_uuid();
      if (!u) {
        *error = "no xclbin is loaded on the card: fanout card load <xclbin>";
        return false;
      }
      auto layout = dev_.get_xclbin_section<const ip_layout *>(IP_LAYOUT, u);
      if (!layout) {
        *error = "the loaded xclbin " + u.to_string() + " has no IP layout";
        return false;
      }
      std::vector<CardCu> cus;
      for (int32_t i = 0; i < layout->m_count; i++) {
        const ip_data &d = layout->m_ip_data[i];
        if (d.m_type != IP_KERNEL) continue;
        CardCu cu;
        cu.name = std::string(reinterpret_cast<const char *>(d.m_name),
                              strnlen(reinterpret_cast<const char *>(d.m_name), sizeof d.m_name));
        cu.kernel = cu.name.substr(0, cu.name.find(':'));
        cu.base = d.m_base_address;
        cu.free_running = ((d.properties & IP_CONTROL_MASK) >> IP_CONTROL_SHIFT) == AP_CTRL_NONE;
        cus.push_back(cu);
      }
      uuid_ = u;
      cus_ = cus;
      ips_.clear();
      return discover(error);
    } catch (const std::exception &e) {
      *error = "reading the loaded xclbin: " + xrt_error(e);
      return false;
    }
  }

  bool load(const std::string &path, std::string *error) override {
    try {
      xrt::xclbin x(path);
      if (!check_xclbin(x, path, error)) return false;
      uuid_ = dev_.load_xclbin(x);
      cus_ = cus_of(x);
      ips_.clear();
      return true;
    } catch (const std::exception &e) {
      *error = path + ": " + xrt_error(e);
      return false;
    }
  }

  const std::vector<CardCu> &cus() const override { return cus_; }

  std::unique_ptr<CardDma> open_dma(uint32_t buffer_bytes, std::string *error) override {
    if (!uuid_) {
      *error = "no xclbin loaded or attached: load one first";
      return nullptr;
    }
    if (buffer_bytes % proto::kDmaBeatBytes || buffer_bytes < proto::kC2hMinCapacityBeats * proto::kDmaBeatBytes) {
      *error = "data mover buffers of " + std::to_string(buffer_bytes) + " bytes: a multiple of 64 of at least " +
               std::to_string(proto::kC2hMinCapacityBeats * proto::kDmaBeatBytes) + " (a header and a maximal frame)";
      return nullptr;
    }
    try {
      return std::make_unique<XrtDma>(dev_, uuid_, buffer_bytes);
    } catch (const std::exception &e) {
      *error = "the data movers (fanout_h2c, fanout_c2h): " + xrt_error(e);
      return nullptr;
    }
  }

  bool read(const std::string &kernel, uint32_t offset, uint32_t *value, std::string *error) override {
    xrt::ip *ip = open_ip(kernel, error);
    if (!ip) return false;
    try {
      *value = ip->read_register(offset);
      return true;
    } catch (const std::exception &e) {
      *error = kernel + ": reading the register at " + hex(offset) + ": " + xrt_error(e);
      return false;
    }
  }

  bool write(const std::string &kernel, uint32_t offset, uint32_t value, std::string *error) override {
    xrt::ip *ip = open_ip(kernel, error);
    if (!ip) return false;
    try {
      ip->write_register(offset, value);
      return true;
    } catch (const std::exception &e) {
      *error = kernel + ": writing the register at " + hex(offset) + ": " + xrt_error(e);
      return false;
    }
  }

  bool discover(std::string *error) override {
    struct Block {
      uint32_t base, type, version;
    } blocks[] = {{regs::nic::kBase, regs::nic::kType, regs::nic::kVersion},
                  {regs::link::kBase, regs::link::kType, regs::link::kVersion}};
    for (const Block &b : blocks) {
      uint32_t type = 0, version = 0;
      if (!read(kShellKernel, b.base + regs::kBlockType, &type, error) ||
          !read(kShellKernel, b.base + regs::kBlockVersion, &version, error))
        return false;
      if (type != b.type || (version >> 16) != (b.version >> 16)) {
        *error = std::string(kShellKernel) + ": the block at " + hex(b.base) + " reads type " + hex(type) +
                 " version " + hex(version) + ", this libfanout expects type " + hex(b.type) + " version " +
                 hex(b.version >> 16) + ".x";
        return false;
      }
    }
    return true;
  }

 private:
  static std::vector<CardCu> cus_of(const xrt::xclbin &x) {
    std::vector<CardCu> cus;
    for (const xrt::xclbin::ip &ip : x.get_ips()) {
      CardCu cu;
      cu.name = ip.get_name();
      cu.kernel = cu.name.substr(0, cu.name.find(':'));
      cu.base = ip.get_base_address();
      cu.free_running = ip.get_control_type() == xrt::xclbin::ip::control_type::none;
      cus.push_back(cu);
    }
    return cus;
  }

  xrt::ip *open_ip(const std::string &kernel, std::string *error) {
    auto it = ips_.find(kernel);
    if (it != ips_.end()) return &it->second;
    if (!uuid_) {
      *error = "no xclbin loaded by this process: load one first (fanout card load <xclbin>)";
      return nullptr;
    }
    for (const CardCu &cu : cus_) {
      if (cu.kernel != kernel) continue;
      try {
        // XRT looks CUs up as "<kernel>:{<instance>}".
        std::string instance = cu.name.substr(cu.name.find(':') + 1);
        return &ips_.emplace(kernel, xrt::ip(dev_, uuid_, kernel + ":{" + instance + "}")).first->second;
      } catch (const std::exception &e) {
        *error = cu.name + ": opening its registers: " + xrt_error(e);
        return nullptr;
      }
    }
    *error = "the loaded xclbin has no compute unit of kernel " + kernel;
    return nullptr;
  }

  xrt::device dev_;
  xrt::uuid uuid_;
  std::vector<CardCu> cus_;
  std::map<std::string, xrt::ip> ips_;
};

} // namespace

std::unique_ptr<Card> Card::open(const std::string &device, std::string *error) {
  try {
    bool index = !device.empty() && device.size() <= 3 && device.find_first_not_of("0123456789") == std::string::npos;
    if (index) return std::make_unique<XrtCard>(xrt::device((unsigned)std::stoul(device)));
    if (device.empty()) {
      *error = "no device given: a device index (0) or a PCIe BDF (0000:3b:00.1)";
      return nullptr;
    }
    return std::make_unique<XrtCard>(xrt::device(device));
  } catch (const std::exception &e) {
    *error = "device " + device + ": " + e.what() +
             (std::getenv("XCL_EMULATION_MODE") ? ""
                                                : " (no Alveo card found by XRT: is the xocl driver loaded and the "
                                                  "card's platform flashed? `xbutil examine` lists the cards)");
    return nullptr;
  }
}

} // namespace fanout::driver
