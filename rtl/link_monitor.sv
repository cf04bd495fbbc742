// link_monitor: per MAC port, is the peer alive? Sends PROBE heartbeats on idle links and marks
// a port down when its peer has been silent for 3 heartbeat intervals or the PHY reports the
// link down; the port-down mask goes to the replicator (no copies towards a dead peer).
//
// Every Fanout port sends something at least every cfg_interval clocks: its own traffic, or a
// PROBE when its transmit side has been idle that long. So any frame received is a sign of life,
// and a peer silent for 3 * cfg_interval clocks is down (two lost heartbeats are tolerated).
// Time to detect a dead peer: 3 * cfg_interval clocks after its last frame (+2), measured by the
// test. A port comes back up at the first frame received while the PHY link is up.
//
// The PROBE is one 64-byte beat built from proto/'s constants (fanout_proto_pkg, generated from
// proto/wire.hpp; names are qualified because yosys 0.23 reads no package import): Ethernet
// broadcast (the peer's MAC is not known to the monitor), IPv4 from
// cfg_ipv4 to 255.255.255.255, UDP port cfg_udp_port both ways, Fanout PROBE with sender =
// origin = cfg_node_id, message id = the port number it leaves on, sequence = that port's
// heartbeat counter, hops 0 (never forwarded), no set. The test compares it byte for byte with
// proto::build_frame and runs it through proto::parse_frame.
//
// cfg_interval = 0 disables heartbeats and silence detection (PHY link status only).
`default_nettype none

module link_monitor #(
    parameter int P      = 2,
    parameter int DATA_W = 512,
    parameter int KEEP_W = DATA_W / 8
) (
    input  wire                 clk,
    input  wire                 rst,

    input  wire [31:0]          cfg_interval,  // heartbeat interval T, clocks
    input  wire [15:0]          cfg_node_id,
    input  wire [47:0]          cfg_mac,       // [47:40] is the first byte on the wire
    input  wire [31:0]          cfg_ipv4,
    input  wire [15:0]          cfg_udp_port,

    input  wire [P-1:0]         mac_link_up,   // PHY/MAC link status per port
    input  wire [P-1:0]         rx_frame_end,  // a frame's last beat arrived on port p (any frame)
    input  wire [P-1:0]         tx_beat,       // port p's transmit side moved a beat this clock

    // One single-beat PROBE stream per port, merged into that port's transmit path by an arbiter.
    output wire [P*DATA_W-1:0]  probe_tdata,
    output wire [P*KEEP_W-1:0]  probe_tkeep,
    output wire [P-1:0]         probe_tlast,
    output wire [P-1:0]         probe_tvalid,
    input  wire [P-1:0]         probe_tready,

    output wire [P-1:0]         port_down,
    output wire [P*32-1:0]      down_events,   // per port: up -> down transitions
    output wire [P*32-1:0]      probes_sent
);
  localparam int PROBE_UDP_LEN = fanout_proto_pkg::UDP_HEADER_BYTES + fanout_proto_pkg::FANOUT_HEADER_BYTES;
  localparam int PROBE_IP_LEN = fanout_proto_pkg::IPV4_HEADER_BYTES + PROBE_UDP_LEN;

  // IPv4 header checksum of the PROBE: one's-complement sum of the header's 16-bit words.
  function automatic logic [15:0] probe_ip_checksum(input logic [31:0] src);
    logic [31:0] sum;
    sum = 32'h4500 + 32'(PROBE_IP_LEN) + 32'h0 + 32'(fanout_proto_pkg::IPV4_FLAG_DONT_FRAGMENT) + {16'h0, fanout_proto_pkg::DEFAULT_IP_TTL, fanout_proto_pkg::IP_PROTO_UDP} +
          32'(src[31:16]) + 32'(src[15:0]) + 32'hFFFF + 32'hFFFF;
    sum = {16'h0, sum[15:0]} + {16'h0, sum[31:16]};
    sum = {16'h0, sum[15:0]} + {16'h0, sum[31:16]};
    probe_ip_checksum = ~sum[15:0];
  endfunction

  // Frame byte i of a 64-byte PROBE is tdata[8i +: 8].
  function automatic logic [DATA_W-1:0] probe_beat(input logic [15:0] port, input logic [31:0] seq);
    logic [DATA_W-1:0] d;
    logic [15:0] csum;
    d = '0;
    csum = probe_ip_checksum(cfg_ipv4);
    for (int i = 0; i < 6; i++) begin
      d[8*i+:8] = 8'hFF;                                  // Ethernet destination: broadcast
      d[8*(6+i)+:8] = cfg_mac[8*(5-i)+:8];                // Ethernet source
    end
    {d[8*12+:8], d[8*13+:8]} = fanout_proto_pkg::ETHERTYPE_IPV4;
    d[8*fanout_proto_pkg::IPV4_OFFSET+:8] = 8'h45;                          // IPv4, IHL 5
    {d[8*(fanout_proto_pkg::IPV4_OFFSET+2)+:8], d[8*(fanout_proto_pkg::IPV4_OFFSET+3)+:8]} = 16'(PROBE_IP_LEN);
    {d[8*(fanout_proto_pkg::IPV4_OFFSET+6)+:8], d[8*(fanout_proto_pkg::IPV4_OFFSET+7)+:8]} = fanout_proto_pkg::IPV4_FLAG_DONT_FRAGMENT;
    d[8*(fanout_proto_pkg::IPV4_OFFSET+8)+:8] = fanout_proto_pkg::DEFAULT_IP_TTL;
    d[8*(fanout_proto_pkg::IPV4_OFFSET+9)+:8] = fanout_proto_pkg::IP_PROTO_UDP;
    {d[8*(fanout_proto_pkg::IPV4_OFFSET+10)+:8], d[8*(fanout_proto_pkg::IPV4_OFFSET+11)+:8]} = csum;
    for (int i = 0; i < 4; i++) begin
      d[8*(fanout_proto_pkg::IPV4_OFFSET+12+i)+:8] = cfg_ipv4[8*(3-i)+:8];  // source
      d[8*(fanout_proto_pkg::IPV4_OFFSET+16+i)+:8] = 8'hFF;                 // destination: broadcast
    end
    {d[8*fanout_proto_pkg::UDP_OFFSET+:8], d[8*(fanout_proto_pkg::UDP_OFFSET+1)+:8]} = cfg_udp_port;
    {d[8*(fanout_proto_pkg::UDP_OFFSET+2)+:8], d[8*(fanout_proto_pkg::UDP_OFFSET+3)+:8]} = cfg_udp_port;
    {d[8*(fanout_proto_pkg::UDP_OFFSET+4)+:8], d[8*(fanout_proto_pkg::UDP_OFFSET+5)+:8]} = 16'(PROBE_UDP_LEN);
    d[8*(fanout_proto_pkg::FANOUT_OFFSET+fanout_proto_pkg::FO_VER_TYPE_OFF)+:8] = {fanout_proto_pkg::PROTOCOL_VERSION, fanout_proto_pkg::TYPE_PROBE};
    {d[8*(fanout_proto_pkg::FANOUT_OFFSET+fanout_proto_pkg::FO_SENDER_OFF)+:8], d[8*(fanout_proto_pkg::FANOUT_OFFSET+fanout_proto_pkg::FO_SENDER_OFF+1)+:8]} = cfg_node_id;
    {d[8*(fanout_proto_pkg::FANOUT_OFFSET+fanout_proto_pkg::FO_ORIGIN_OFF)+:8], d[8*(fanout_proto_pkg::FANOUT_OFFSET+fanout_proto_pkg::FO_ORIGIN_OFF+1)+:8]} = cfg_node_id;
    for (int i = 0; i < 2; i++) d[8*(fanout_proto_pkg::FANOUT_OFFSET+fanout_proto_pkg::FO_MESSAGE_ID_OFF+2+i)+:8] = port[8*(1-i)+:8];
    for (int i = 0; i < 4; i++) d[8*(fanout_proto_pkg::FANOUT_OFFSET+fanout_proto_pkg::FO_SEQUENCE_OFF+i)+:8] = seq[8*(3-i)+:8];
    probe_beat = d;
  endfunction

  initial begin
    if (fanout_proto_pkg::FANOUT_OFFSET + fanout_proto_pkg::FANOUT_HEADER_BYTES != fanout_proto_pkg::BEAT_BYTES || DATA_W != 8 * fanout_proto_pkg::BEAT_BYTES)
      $fatal(1, "link_monitor: a PROBE must be exactly one beat");
  end

  logic [31:0] tx_idle [P];  // clocks since port p last transmitted
  logic [31:0] rx_quiet [P]; // clocks since port p last received a frame (saturating)
  logic [31:0] seq [P];
  logic [P-1:0] pending;     // a PROBE is offered on port p
  logic [P-1:0] down_q;
  logic [31:0] downs [P];
  logic [31:0] sent [P];

  for (genvar p = 0; p < P; p++) begin : g_port
    wire silent = cfg_interval != 0 && rx_quiet[p] >= 3 * cfg_interval;
    wire down_now = !mac_link_up[p] || silent;
    wire probe_fire = pending[p] && probe_tready[p];

    always_ff @(posedge clk) begin
      if (rst) begin
        tx_idle[p] <= '0;
        rx_quiet[p] <= '0;
        seq[p] <= '0;
        pending[p] <= 1'b0;
        down_q[p] <= 1'b0;
        downs[p] <= '0;
        sent[p] <= '0;
      end else begin
        // Transmit side: a PROBE once the port has been idle for the interval (the PROBE is
        // traffic too, so heartbeats on an otherwise idle link come every interval).
        if (tx_beat[p] || probe_fire) tx_idle[p] <= '0;
        else if (tx_idle[p] != '1) tx_idle[p] <= tx_idle[p] + 1;
        if (probe_fire) begin
          pending[p] <= 1'b0;
          seq[p] <= seq[p] + 1;
          sent[p] <= sent[p] + 1;
        end else if (!pending[p] && cfg_interval != 0 && mac_link_up[p] && tx_idle[p] + 2 >= cfg_interval) begin
          // Raised one clock ahead, so the PROBE leaves exactly cfg_interval clocks after the
          // port's last beat.
          pending[p] <= 1'b1;
        end
        // Receive side.
        if (rx_frame_end[p]) rx_quiet[p] <= '0;
        else if (rx_quiet[p] != '1) rx_quiet[p] <= rx_quiet[p] + 1;
        down_q[p] <= down_now;
        if (down_now && !down_q[p]) downs[p] <= downs[p] + 1;
      end
    end

    assign probe_tdata[p*DATA_W+:DATA_W] = probe_beat(16'(p), seq[p]);
    assign probe_tkeep[p*KEEP_W+:KEEP_W] = '1;
    assign probe_tlast[p] = 1'b1;
    assign probe_tvalid[p] = pending[p];
    assign port_down[p] = down_q[p];
    assign down_events[p*32+:32] = downs[p];
    assign probes_sent[p*32+:32] = sent[p];
  end
endmodule

`default_nettype wire
