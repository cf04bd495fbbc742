// An Alveo card running the Fanout design, through XRT: what `fanout card` and the xrt backend
// share. Opens a device, loads (or finds) the xclbin, checks that the xclbin's kernels carry the
// registers at the offsets this libfanout was built with (fanout/regs.hpp, generated from
// rtl/regs/fanout_regs.yaml like the RTL block and the HLS pragmas), and reads and writes the
// compute units' registers by name.
//
// Compute units: the RTL shell `fanout_shell` (the register blocks of regs.hpp: nic, link) and the
// HLS kernels of regs::kKernels. Free-running ones (ap_ctrl_none) are reached through xrt::ip,
// which XRT opens with an exclusive context: one process at a time per card.
//
// Built without XRT (FANOUT_HAVE_XRT off), open() fails with a message saying so. With XRT's noop
// shim (XCL_EMULATION_MODE=noop, no card), devices, xclbins and buffers work but registers do not:
// reads and writes fail naming the shim (docs/alveo.md, "Verified here").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fanout::driver {

// The RTL shell's kernel name (constraints/alveo_design.yaml): its registers are the blocks of
// fanout/regs.hpp (nic, link); the HLS kernels' names are regs::<kernel>::kKernelName.
inline constexpr const char *kShellKernel = "fanout_shell";

struct CardCu {
  std::string kernel;        // kernel name, e.g. fanout_parser
  std::string name;          // XRT's CU name, "<kernel>:<instance>"
  uint64_t base = 0;         // AXI-Lite base address
  bool free_running = false; // ap_ctrl_none: no start/done, registers through xrt::ip
};

// A register of a compute unit, read back for `fanout card counters` / `link`.
struct CardRegister {
  std::string cu;   // CU name
  std::string name; // register (arrays: name[i])
  uint32_t offset = 0;
  uint32_t value = 0;
};

// 32-bit register access to the design's compute units by kernel name (the first CU of that
// kernel) and byte offset: what programming the NIC needs (xrt/nic_program.hpp), apart from the card.
class CardRegisters {
 public:
  virtual ~CardRegisters() = default;
  virtual bool read(const std::string &kernel, uint32_t offset, uint32_t *value, std::string *error) = 0;
  virtual bool write(const std::string &kernel, uint32_t offset, uint32_t value, std::string *error) = 0;
};

// The host <-> card frame path: the data movers fanout_h2c and fanout_c2h (ap_ctrl_hs) over two
// buffers in card memory each way (proto/host_dma.hpp has their layout). Buffer i stays the
// caller's while no run of it is pending.
class CardDma {
 public:
  virtual ~CardDma() = default;
  virtual uint32_t buffer_bytes() const = 0;
  // Host to card: buffer i's host memory; send its first `beats` beats (sync, then an h2c run).
  virtual uint8_t *tx_buffer(int i) = 0;
  virtual bool tx_start(int i, uint32_t beats, std::string *error) = 0;
  // Wait for buffer i's h2c run (true at once when none is pending).
  virtual bool tx_wait(int i, std::string *error) = 0;
  // Card to host: arm a c2h run into buffer i (its header cleared first); poll it: 1 done and
  // synced (buffer i holds what the run wrote), 0 still running, -1 failed (*error).
  virtual bool rx_start(int i, uint32_t idle_clocks, std::string *error) = 0;
  virtual int rx_poll(int i, std::string *error) = 0;
  virtual const uint8_t *rx_buffer(int i) const = 0;
  virtual uint64_t runs() const = 0; // h2c and c2h runs started
};

class Card : public CardRegisters {
 public:
  // device: an index ("0") or a PCIe BDF ("0000:3b:00.1"). nullptr and *error when this libfanout
  // was built without XRT, the index or BDF names no device, or XRT cannot open it.
  static std::unique_ptr<Card> open(const std::string &device, std::string *error);

  virtual std::string name() const = 0;        // the platform's VBNV
  virtual std::string bdf() const = 0;         // PCIe address ("" if the shim has none)
  virtual std::string xclbin_uuid() const = 0; // the loaded xclbin, "" if none is loaded

  // Load an xclbin file: refused (false, *error naming the kernel and register) unless it holds
  // every Fanout kernel with every register at this libfanout's offset. Then cus() lists its CUs.
  virtual bool load(const std::string &xclbin_path, std::string *error) = 0;
  // Check an xclbin file without loading it (the same rules as load); its CUs into *cus.
  virtual bool check(const std::string &xclbin_path, std::vector<CardCu> *cus, std::string *error) const = 0;
  // Use the xclbin already on the card (loaded by an earlier `fanout card load`): its CUs from the
  // device's copy of its IP layout, and the shell's register blocks found by their type ids.
  virtual bool attach(std::string *error) = 0;
  // Read the shell's register blocks (nic, link) at regs.hpp's offsets and check their type and
  // version ids: the first register access after a load (a card answers; the noop shim does not).
  virtual bool discover(std::string *error) = 0;
  // The CUs of the xclbin loaded or attached through this object (empty before).
  virtual const std::vector<CardCu> &cus() const = 0;

  // The frame path over the loaded or attached xclbin's data movers: two buffers of buffer_bytes
  // (a multiple of 64, at least one c2h header and one maximal frame) each way.
  virtual std::unique_ptr<CardDma> open_dma(uint32_t buffer_bytes, std::string *error) = 0;

  // Every counter of the design (the kernels' read-only registers and the link monitor's), in
  // definition order, or false and *error at the first that cannot be read.
  bool counters(std::vector<CardRegister> *out, std::string *error);
  // The link block: per port PHY up, marked down, down events, PROBEs sent.
  struct PortLink {
    uint32_t port = 0;
    bool phy_up = false, marked_down = false;
    uint32_t down_events = 0, probes_sent = 0;
  };
  bool link(std::vector<PortLink> *out, std::string *error);
};

} // namespace fanout::driver
