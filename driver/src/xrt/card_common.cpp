// Card's register walks (counters, link), the same with or without XRT: they only read registers.
#include "fanout/driver/card.hpp"

#include "fanout/regs.hpp"

namespace fanout::driver {

bool Card::counters(std::vector<CardRegister> *out, std::string *error) {
  out->clear();
  for (const regs::KernelRegisterInfo &r : regs::kKernelRegisters) {
    if (r.access != regs::Access::kReadOnly) continue;
    std::string kernel;
    for (const regs::KernelInfo &k : regs::kKernels)
      if (std::string(k.name) == r.kernel) kernel = k.top;
    for (uint32_t i = 0; i < r.count; i++) {
      CardRegister c;
      c.cu = kernel;
      c.name = r.count > 1 ? std::string(r.name) + "[" + std::to_string(i) + "]" : r.name;
      c.offset = r.offset + 4 * i;
      if (!read(kernel, c.offset, &c.value, error)) return false;
      out->push_back(c);
    }
  }
  for (const regs::RegisterInfo &r : regs::kRegisters) {
    if (r.access != regs::Access::kReadOnly) continue;
    for (uint32_t i = 0; i < r.count; i++) {
      CardRegister c;
      c.cu = kShellKernel;
      c.name = std::string(r.block) + "." + r.name + (r.count > 1 ? "[" + std::to_string(i) + "]" : "");
      c.offset = r.offset + 4 * i;
      if (!read(kShellKernel, c.offset, &c.value, error)) return false;
      out->push_back(c);
    }
  }
  return true;
}

bool Card::link(std::vector<PortLink> *out, std::string *error) {
  out->clear();
  uint32_t type = 0, ports = 0, up = 0, down = 0;
  if (!read(kShellKernel, regs::link::kBase + regs::kBlockType, &type, error)) return false;
  if (type != regs::link::kType) {
    *error = "fanout_shell: no link block at " + std::to_string(regs::link::kBase) + " (type register reads " +
             std::to_string(type) + "): not the register map this libfanout was built with";
    return false;
  }
  if (!read(kShellKernel, regs::nic::kPorts, &ports, error) || !read(kShellKernel, regs::link::kLinkUp, &up, error) ||
      !read(kShellKernel, regs::link::kPortDown, &down, error))
    return false;
  for (uint32_t p = 0; p < ports && p < regs::kMaxPorts; p++) {
    PortLink l;
    l.port = p;
    l.phy_up = (up >> p) & 1;
    l.marked_down = (down >> p) & 1;
    if (!read(kShellKernel, regs::link::down_events(p), &l.down_events, error) ||
        !read(kShellKernel, regs::link::probes_sent(p), &l.probes_sent, error))
      return false;
    out->push_back(l);
  }
  return true;
}

} // namespace fanout::driver
