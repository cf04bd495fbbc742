// ip:port and MAC text <-> numbers (IPv4 only: the protocol's UDP encapsulation is IPv4 today).
#pragma once

#include <cstdint>
#include <string>

namespace fanout::driver {

// "10.0.0.1:47100" -> ip (host byte order) and port. Port 1..65535. False if it does not parse.
bool parse_ipv4_port(const std::string &text, uint32_t *ip, uint16_t *port);
// "02:00:00:00:00:07" -> six bytes. A group (multicast) address is refused: frames to a node go
// to its unicast MAC. False if it does not parse.
bool parse_mac(const std::string &text, uint8_t mac[6]);

} // namespace fanout::driver
