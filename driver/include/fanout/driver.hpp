// libfanout, everything an application includes: Device, queues, completions, memory regions,
// the cluster file and the status codes. docs/driver.md is the guide.
#pragma once

#include "fanout/driver/cluster.hpp"
#include "fanout/driver/device.hpp"
#include "fanout/driver/stats.hpp"
#include "fanout/driver/status.hpp"
