// Everything in Fanout's wire protocol core. Header-only C++14 (synthesizable subset).
#ifndef FANOUT_PROTO_PROTO_HPP
#define FANOUT_PROTO_PROTO_HPP

#include "fanout/proto/aggregator.hpp"
#include "fanout/proto/beats.hpp"
#include "fanout/proto/bier.hpp"
#include "fanout/proto/host_dma.hpp"
#include "fanout/proto/packet.hpp"
#include "fanout/proto/receiver_set.hpp"
#include "fanout/proto/set_codec.hpp"
#include "fanout/proto/split.hpp"
#include "fanout/proto/wire.hpp"

#endif
