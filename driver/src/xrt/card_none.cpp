// Card::open in a libfanout built without XRT: says so.
#include "fanout/driver/card.hpp"

namespace fanout::driver {

std::unique_ptr<Card> Card::open(const std::string &device, std::string *error) {
  (void)device;
  *error = "this libfanout was built without XRT (Debian packages libxrt-dev and uuid-dev, then rebuild; "
           "docs/alveo.md)";
  return nullptr;
}

} // namespace fanout::driver
