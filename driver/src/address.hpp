// ip:port text <-> numbers (IPv4 only: the protocol's UDP encapsulation is IPv4 today).
#pragma once

#include <cstdint>
#include <string>

namespace fanout::driver {

// "10.0.0.1:47100" -> ip (host byte order) and port. Port 1..65535. False if it does not parse.
bool parse_ipv4_port(const std::string &text, uint32_t *ip, uint16_t *port);

} // namespace fanout::driver
