-- Wireshark / tshark dissector for the Fanout header (reliable multicast; see docs/protocol.md
-- and proto/include/fanout/proto/wire.hpp, which define every field used here).
--
--   tshark -X lua_script:sim/wireshark/fanout.lua -r run.pcap
--   wireshark -X lua_script:sim/wireshark/fanout.lua run.pcap
-- or copy this file to ~/.local/lib/wireshark/plugins/.
--
-- Registered on UDP port 47100 (proto::kDefaultUdpPort); the preference "fanout.udp_port"
-- changes it (Edit > Preferences > Protocols > Fanout, or tshark -o fanout.udp_port:N).
--
-- Fanout header (22 bytes, big-endian), after Ethernet / IPv4 / UDP:
--   0 version (high 4 bits) | type (low 4)   1 flags   2 set encoding (low 4)   3 hops left
--   4 set length (u16)   6 sender (u16)   8 origin (u16)   10 message id (u32)
--   14 sequence (u32)   18 length (u32)
-- then set_len bytes of receiver set, then the payload. Receiver-set encodings:
--   1 list    ascending u16 ids
--   2 ranges  ascending [first, last] u16 pairs
--   3 bitmap  runs of (u16 first id, u16 byte count n, n bytes; bit 7 of byte 0 = first id)
-- Every receiver id is one "fanout.receiver" item; a range is also one "fanout.range" item
-- ("first-last"), and ranges longer than the preference "fanout.max_range_ids" (default 1024)
-- list no per-id items (filter on fanout.range_first / fanout.range_last instead).

local HEADER_LEN = 22
local DEFAULT_PORT = 47100

local fanout = Proto("fanout", "Fanout Reliable Multicast")

local types = { [1] = "DATA", [2] = "ACK", [3] = "NACK", [4] = "PROBE" }
local encodings = { [0] = "none", [1] = "list", [2] = "ranges", [3] = "bitmap" }

local pf = {
  version = ProtoField.uint8("fanout.version", "Version", base.DEC, nil, 0xF0),
  type = ProtoField.uint8("fanout.type", "Type", base.DEC, types, 0x0F),
  flags = ProtoField.uint8("fanout.flags", "Flags", base.HEX),
  flag_last = ProtoField.bool("fanout.flags.last", "LAST (last packet of the message)", 8, nil, 0x01),
  flag_retx = ProtoField.bool("fanout.flags.retx", "RETX (retransmission)", 8, nil, 0x02),
  flag_ackreq = ProtoField.bool("fanout.flags.ack_req", "ACK_REQ (acknowledge at once)", 8, nil, 0x04),
  flag_silent = ProtoField.bool("fanout.flags.silent", "SILENT (receivers did not answer)", 8, nil, 0x08),
  flag_reply = ProtoField.bool("fanout.flags.reply", "REPLY (answer to a probe)", 8, nil, 0x10),
  flag_gone = ProtoField.bool("fanout.flags.gone", "GONE (receivers known down)", 8, nil, 0x20),
  set_encoding = ProtoField.uint8("fanout.set_encoding", "Set encoding", base.DEC, encodings, 0x0F),
  hops = ProtoField.uint8("fanout.hops", "Hops left", base.DEC),
  set_len = ProtoField.uint16("fanout.set_len", "Set length", base.DEC),
  sender = ProtoField.uint16("fanout.sender", "Sender", base.DEC),
  origin = ProtoField.uint16("fanout.origin", "Origin", base.DEC),
  message_id = ProtoField.uint32("fanout.message_id", "Message id", base.DEC),
  sequence = ProtoField.uint32("fanout.sequence", "Sequence", base.DEC),
  length = ProtoField.uint32("fanout.length", "Length", base.DEC),
  set = ProtoField.bytes("fanout.set", "Receiver set"),
  receivers = ProtoField.uint32("fanout.receivers", "Receivers in this packet", base.DEC),
  receiver = ProtoField.uint16("fanout.receiver", "Receiver", base.DEC),
  range = ProtoField.string("fanout.range", "Range"),
  range_first = ProtoField.uint16("fanout.range_first", "First", base.DEC),
  range_last = ProtoField.uint16("fanout.range_last", "Last", base.DEC),
  run = ProtoField.string("fanout.bitmap_run", "Bitmap run"),
  run_first = ProtoField.uint16("fanout.bitmap_first", "First id", base.DEC),
  run_bytes = ProtoField.uint16("fanout.bitmap_bytes", "Bitmap bytes", base.DEC),
  payload = ProtoField.bytes("fanout.payload", "Payload"),
}
fanout.fields = pf

local ef_malformed = ProtoExpert.new("fanout.malformed", "Malformed Fanout packet", expert.group.MALFORMED,
  expert.severity.ERROR)
local ef_range_not_listed = ProtoExpert.new("fanout.range_not_listed",
  "Range too long to list its receivers (preference fanout.max_range_ids)", expert.group.COMMENTS_GROUP,
  expert.severity.NOTE)
fanout.experts = { ef_malformed, ef_range_not_listed }

fanout.prefs.udp_port = Pref.uint("UDP port", DEFAULT_PORT, "UDP destination port of Fanout packets")
fanout.prefs.max_range_ids = Pref.uint("Receivers listed per range", 1024,
  "Ranges with more ids show only first-last, without one fanout.receiver item per id")

-- Bit `k` (0 = most significant) of byte value b, without Lua 5.2/5.3 bit-operator differences.
local function bit_msb(b, k)
  return math.floor(b / 2 ^ (7 - k)) % 2 == 1
end

-- Adds the set items under `tree`; returns the number of receiver ids.
local function dissect_set(body, tree, enc)
  local len = body:len()
  local count = 0
  if enc == 1 then
    if len % 2 ~= 0 then
      tree:add_proto_expert_info(ef_malformed, "list set length is not a multiple of 2")
      return count
    end
    for off = 0, len - 2, 2 do
      tree:add(pf.receiver, body(off, 2))
      count = count + 1
    end
  elseif enc == 2 then
    if len % 4 ~= 0 then
      tree:add_proto_expert_info(ef_malformed, "ranges set length is not a multiple of 4")
      return count
    end
    local max_ids = fanout.prefs.max_range_ids
    for off = 0, len - 4, 4 do
      local first, last = body(off, 2):uint(), body(off + 2, 2):uint()
      local item = tree:add(pf.range, body(off, 4), string.format("%d-%d", first, last))
      item:add(pf.range_first, body(off, 2))
      item:add(pf.range_last, body(off + 2, 2))
      if first > last then
        item:add_proto_expert_info(ef_malformed, "range with first > last")
      elseif last - first + 1 <= max_ids then
        for id = first, last do item:add(pf.receiver, body(off, 4), id):set_generated() end
      else
        item:add_proto_expert_info(ef_range_not_listed)
      end
      if first <= last then count = count + (last - first + 1) end
    end
  elseif enc == 3 then
    local pos = 0
    while pos < len do
      if len - pos < 4 then
        tree:add_proto_expert_info(ef_malformed, "bitmap run header truncated")
        return count
      end
      local first, nbytes = body(pos, 2):uint(), body(pos + 2, 2):uint()
      if nbytes == 0 or pos + 4 + nbytes > len then
        tree:add_proto_expert_info(ef_malformed, "bitmap run length 0 or past the set")
        return count
      end
      local item = tree:add(pf.run, body(pos, 4 + nbytes),
        string.format("first %d, %d bytes (ids %d-%d)", first, nbytes, first, first + 8 * nbytes - 1))
      item:add(pf.run_first, body(pos, 2))
      item:add(pf.run_bytes, body(pos + 2, 2))
      for i = 0, nbytes - 1 do
        local byte_range = body(pos + 4 + i, 1)
        local b = byte_range:uint()
        for k = 0, 7 do
          if bit_msb(b, k) then
            item:add(pf.receiver, byte_range, first + 8 * i + k):set_generated()
            count = count + 1
          end
        end
      end
      pos = pos + 4 + nbytes
    end
  end
  return count
end

function fanout.dissector(tvb, pinfo, tree)
  local len = tvb:len()
  if len < HEADER_LEN then return 0 end
  pinfo.cols.protocol = "Fanout"
  local t = tree:add(fanout, tvb(0, len))
  local vt = tvb(0, 1):uint()
  local version, ptype = math.floor(vt / 16), vt % 16
  t:add(pf.version, tvb(0, 1))
  t:add(pf.type, tvb(0, 1))
  local ft = t:add(pf.flags, tvb(1, 1))
  ft:add(pf.flag_last, tvb(1, 1))
  ft:add(pf.flag_retx, tvb(1, 1))
  ft:add(pf.flag_ackreq, tvb(1, 1))
  ft:add(pf.flag_silent, tvb(1, 1))
  ft:add(pf.flag_reply, tvb(1, 1))
  ft:add(pf.flag_gone, tvb(1, 1))
  local enc = tvb(2, 1):uint() % 16
  t:add(pf.set_encoding, tvb(2, 1))
  t:add(pf.hops, tvb(3, 1))
  local set_len = tvb(4, 2):uint()
  t:add(pf.set_len, tvb(4, 2))
  local sender = tvb(6, 2):uint()
  t:add(pf.sender, tvb(6, 2))
  t:add(pf.origin, tvb(8, 2))
  local message_id = tvb(10, 4):uint()
  t:add(pf.message_id, tvb(10, 4))
  local sequence = tvb(14, 4):uint()
  t:add(pf.sequence, tvb(14, 4))
  t:add(pf.length, tvb(18, 4))
  if version ~= 1 then t:add_proto_expert_info(ef_malformed, "unknown version " .. version) end

  local info = string.format("%s sender=%d msg=%d seq=%d", types[ptype] or ("type " .. ptype), sender,
    message_id, sequence)
  if set_len > 0 then
    if HEADER_LEN + set_len > len then
      t:add_proto_expert_info(ef_malformed, "set length runs past the packet")
    else
      local body = tvb(HEADER_LEN, set_len)
      local st = t:add(pf.set, body)
      st:set_text(string.format("Receiver set: %s, %d bytes", encodings[enc] or ("encoding " .. enc), set_len))
      if enc >= 1 and enc <= 3 then
        local n = dissect_set(body, st, enc)
        st:add(pf.receivers, n):set_generated()
        info = info .. string.format(" receivers=%d (%s)", n, encodings[enc])
      else
        st:add_proto_expert_info(ef_malformed, "unknown set encoding " .. enc)
      end
    end
  end
  if HEADER_LEN + set_len < len then t:add(pf.payload, tvb(HEADER_LEN + set_len)) end
  pinfo.cols.info = info
  return len
end

local registered_port = nil
local function register_port()
  local udp = DissectorTable.get("udp.port")
  if registered_port then udp:remove(registered_port, fanout) end
  registered_port = fanout.prefs.udp_port
  udp:add(registered_port, fanout)
end

function fanout.prefs_changed()
  if registered_port ~= fanout.prefs.udp_port then register_port() end
end

register_port()
