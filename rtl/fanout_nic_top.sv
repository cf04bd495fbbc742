// fanout_nic_top: the NIC shell that joins the MACs, the host and the four HLS kernels (parser,
// replicator, ACK aggregator, peer monitor; docs/hls.md) and holds the link monitor and the
// register block.
//
// Two clock domains: mac_clk (MAC, 322 MHz) and clk (kernels, 300 MHz). Every MAC port crosses
// through its own axis_async_fifo in each direction; everything else runs on clk. The kernels
// are not inside: their stream interfaces are ports of this module, so the C++ models (or the
// Vitis-built kernels) attach outside it.
//
// Streams are AXI-Stream, 512-bit data, tuser[7:0] = ingress port, tuser[8] = MAC bad frame,
// tdest = egress port (hls/common/include/fanout/hls/axis.hpp); ports 0..P-1 are MACs,
// fanout_proto_pkg::PORT_LOCAL (0xFE) is the host. Per-port buses are packed side by side, port p
// in [p*W +: W], as axis_rr_arbiter's inputs.
//
//   mac_rx[p] -> async FIFO -+
//   host_tx -----------------+-> rr arbiter -> parser_in
//   repl_port[p] -------+
//   agg_out demux [p] --+-> rr arbiter -> async FIFO -> mac_tx[p]
//   PROBE[p] -----------+   (peer_tx[p]: strict priority)
//   peer_tx demux [p] --+
//   parser_host --------+
//   repl_host ----------+-> rr arbiter -> host_rx
//   agg_out demux host -+
//
// The aggregator has one output for every destination, so it is split here by tdest, decided on
// a frame's first beat and held to its tlast: tdest < P to that MAC port, PORT_LOCAL to the host,
// anything else dropped whole and counted in agg_dropped. The peer monitor's frames (peer_tx,
// one beat each, tdest = MAC port) are split the same way; a tdest >= P is dropped and counted
// in peer_dropped. They are the TX arbiters' strict-priority input: a heartbeat waits for the
// frame being sent at most, never behind data or behind the aggregator's frames for the host.
//
// Resets: rst (clk) and mac_rst (mac_clk) are synchronous to their clocks and must overlap, each
// held at least 3 clocks of the slower side (axis_async_fifo).
`default_nettype none

module fanout_nic_top #(
    parameter int P             = 2,   // MAC ports (1..8: the register map's per-port arrays)
    // Per MAC port, MAC -> kernel clock. A MAC cannot be paused, and the parser_in arbiter may be
    // serving the other P inputs (a MAC or the host) for a whole frame each (141 beats at most),
    // so the FIFO holds that wait plus a frame of its own: 512 for P = 2 (BRAM).
    parameter int RX_FIFO_DEPTH = 512,
    parameter int TX_FIFO_DEPTH = 32   // kernel -> MAC clock; power of two >= 16 keeps one beat
                                       // per clock of the slower side
) (
    input  wire               mac_clk,
    input  wire               mac_rst,
    input  wire               clk,
    input  wire               rst,

    // ---- MAC side (mac_clk) ----
    input  wire [P*512-1:0]   mac_rx_tdata,
    input  wire [P*64-1:0]    mac_rx_tkeep,
    input  wire [P-1:0]       mac_rx_tlast,
    input  wire [P*16-1:0]    mac_rx_tuser,   // bit 8 of each port: bad frame (FCS, runt)
    input  wire [P*8-1:0]     mac_rx_tdest,   // carried to the parser unchanged
    input  wire [P-1:0]       mac_rx_tvalid,
    output wire [P-1:0]       mac_rx_tready,

    output wire [P*512-1:0]   mac_tx_tdata,
    output wire [P*64-1:0]    mac_tx_tkeep,
    output wire [P-1:0]       mac_tx_tlast,
    output wire [P*16-1:0]    mac_tx_tuser,
    output wire [P*8-1:0]     mac_tx_tdest,
    output wire [P-1:0]       mac_tx_tvalid,
    input  wire [P-1:0]       mac_tx_tready,

    input  wire [P-1:0]       mac_link_up,    // PHY link status (mac_clk domain)

    // ---- host side (clk) ----
    input  wire [511:0]       host_tx_tdata,  // frames the host sends
    input  wire [63:0]        host_tx_tkeep,
    input  wire               host_tx_tlast,
    input  wire [15:0]        host_tx_tuser,
    input  wire [7:0]         host_tx_tdest,
    input  wire               host_tx_tvalid,
    output wire               host_tx_tready,

    output wire [511:0]       host_rx_tdata,  // frames delivered to the host
    output wire [63:0]        host_rx_tkeep,
    output wire               host_rx_tlast,
    output wire [15:0]        host_rx_tuser,
    output wire [7:0]         host_rx_tdest,
    output wire               host_rx_tvalid,
    input  wire               host_rx_tready,

    // ---- kernel side (clk) ----
    output wire [511:0]       parser_in_tdata,   // -> parser
    output wire [63:0]        parser_in_tkeep,
    output wire               parser_in_tlast,
    output wire [15:0]        parser_in_tuser,
    output wire [7:0]         parser_in_tdest,
    output wire               parser_in_tvalid,
    input  wire               parser_in_tready,

    input  wire [511:0]       parser_host_tdata, // <- parser's non-Fanout frames
    input  wire [63:0]        parser_host_tkeep,
    input  wire               parser_host_tlast,
    input  wire [15:0]        parser_host_tuser,
    input  wire [7:0]         parser_host_tdest,
    input  wire               parser_host_tvalid,
    output wire               parser_host_tready,

    input  wire [P*512-1:0]   repl_port_tdata,   // <- replicator's out_port[p]
    input  wire [P*64-1:0]    repl_port_tkeep,
    input  wire [P-1:0]       repl_port_tlast,
    input  wire [P*16-1:0]    repl_port_tuser,
    input  wire [P*8-1:0]     repl_port_tdest,
    input  wire [P-1:0]       repl_port_tvalid,
    output wire [P-1:0]       repl_port_tready,

    input  wire [511:0]       repl_host_tdata,   // <- replicator's out_host
    input  wire [63:0]        repl_host_tkeep,
    input  wire               repl_host_tlast,
    input  wire [15:0]        repl_host_tuser,
    input  wire [7:0]         repl_host_tdest,
    input  wire               repl_host_tvalid,
    output wire               repl_host_tready,

    input  wire [511:0]       agg_out_tdata,     // <- ACK aggregator's out (tdest = port or host)
    input  wire [63:0]        agg_out_tkeep,
    input  wire               agg_out_tlast,
    input  wire [15:0]        agg_out_tuser,
    input  wire [7:0]         agg_out_tdest,
    input  wire               agg_out_tvalid,
    output wire               agg_out_tready,

    input  wire [511:0]       peer_tx_tdata,     // <- peer monitor's out_probe (single beats, tdest = port)
    input  wire [63:0]        peer_tx_tkeep,
    input  wire               peer_tx_tlast,
    input  wire [15:0]        peer_tx_tuser,
    input  wire [7:0]         peer_tx_tdest,
    input  wire               peer_tx_tvalid,
    output wire               peer_tx_tready,

    output wire [P-1:0]       port_down,         // -> replicator: no copies towards a dead peer

    // ---- configuration and status (clk) ----
    output wire [15:0]        cfg_node_id,       // register values, copied into the kernels'
    output wire [47:0]        cfg_mac,           // configuration; cfg_mac[47:40] is the first
    output wire [31:0]        cfg_ipv4,          // byte on the wire
    output wire [15:0]        cfg_udp_port,
    output wire [31:0]        agg_dropped,       // aggregator frames with an unknown tdest
    output wire [31:0]        peer_dropped,      // peer-monitor beats with a tdest >= P

    // ---- AXI-Lite register slave (clk), rtl/regs/fanout_regs.yaml ----
    input  wire [11:0]        s_axil_awaddr,
    input  wire               s_axil_awvalid,
    output wire               s_axil_awready,
    input  wire [31:0]        s_axil_wdata,
    input  wire [3:0]         s_axil_wstrb,
    input  wire               s_axil_wvalid,
    output wire               s_axil_wready,
    output wire [1:0]         s_axil_bresp,
    output wire               s_axil_bvalid,
    input  wire               s_axil_bready,
    input  wire [11:0]        s_axil_araddr,
    input  wire               s_axil_arvalid,
    output wire               s_axil_arready,
    output wire [31:0]        s_axil_rdata,
    output wire [1:0]         s_axil_rresp,
    output wire               s_axil_rvalid,
    input  wire               s_axil_rready
);
  localparam int DW = 512, KW = 64, UW = 16, TW = 8;
  localparam int NR = P + 1;  // parser_in arbiter inputs: MAC ports 0..P-1, then the host

  initial begin
    if (P < 1 || P > 8) $fatal(1, "fanout_nic_top: P must be 1..8");
  end

  // ---------------------------------------------------------------- configuration, link status
  wire [31:0] cfg_interval;
  wire [15:0] mac_hi;
  wire [31:0] mac_lo;
  assign cfg_mac = {mac_hi, mac_lo};

  // mac_link_up into clk: two flops, no reset so they keep sampling through rst and hold the true
  // status when it ends (a reset value would fake a link-down, counted as a down event).
  (* ASYNC_REG = "TRUE" *) logic [P-1:0] link_up_s1, link_up_s2;
  always_ff @(posedge clk) begin
    link_up_s1 <= mac_link_up;
    link_up_s2 <= link_up_s1;
  end

  wire [P*DW-1:0] probe_tdata;
  wire [P*KW-1:0] probe_tkeep;
  wire [P-1:0]    probe_tlast, probe_tvalid, probe_tready;
  wire [P-1:0]    rx_frame_end, tx_beat;
  wire [P*32-1:0] down_events, probes_sent;

  link_monitor #(.P(P)) u_link_monitor (
      .clk, .rst,
      .cfg_interval, .cfg_node_id, .cfg_mac, .cfg_ipv4, .cfg_udp_port,
      .mac_link_up(link_up_s2), .rx_frame_end, .tx_beat,
      .probe_tdata, .probe_tkeep, .probe_tlast, .probe_tvalid, .probe_tready,
      .port_down, .down_events, .probes_sent
  );

  wire [31:0] unused_scratch;  // software's bus check only
  fanout_regs #(.P(P)) u_regs (
      .clk, .rst,
      .s_axil_awaddr, .s_axil_awvalid, .s_axil_awready, .s_axil_wdata, .s_axil_wstrb,
      .s_axil_wvalid, .s_axil_wready, .s_axil_bresp, .s_axil_bvalid, .s_axil_bready,
      .s_axil_araddr, .s_axil_arvalid, .s_axil_arready, .s_axil_rdata, .s_axil_rresp,
      .s_axil_rvalid, .s_axil_rready,
      .nic_ports(32'(P)),
      .nic_node_id(cfg_node_id), .nic_mac_hi(mac_hi), .nic_mac_lo(mac_lo), .nic_ipv4(cfg_ipv4),
      .nic_udp_port(cfg_udp_port), .nic_scratch(unused_scratch),
      .link_interval(cfg_interval),
      .link_link_up(32'(link_up_s2)), .link_port_down(32'(port_down)),
      .link_down_events(down_events), .link_probes_sent(probes_sent)
  );

  // ---------------------------------------------------------------- receive: MACs + host -> parser
  wire [NR*DW-1:0] rxa_tdata;
  wire [NR*KW-1:0] rxa_tkeep;
  wire [NR-1:0]    rxa_tlast, rxa_tvalid, rxa_tready;
  wire [NR*UW-1:0] rxa_tuser;
  wire [NR*TW-1:0] rxa_tdest;

  for (genvar p = 0; p < P; p++) begin : g_rx
    // Tagged before the crossing (it is wiring on either side): ingress port p, the MAC's bad-frame
    // bit kept, reserved bits sent 0 as axis.hpp requires.
    wire [UW-1:0] tag = {7'b0, mac_rx_tuser[p*UW+8], 8'(p)};
    axis_async_fifo #(.DEPTH(RX_FIFO_DEPTH)) u_fifo (
        .s_clk(mac_clk), .s_rst(mac_rst),
        .s_axis_tdata(mac_rx_tdata[p*DW+:DW]), .s_axis_tkeep(mac_rx_tkeep[p*KW+:KW]),
        .s_axis_tlast(mac_rx_tlast[p]), .s_axis_tuser(tag), .s_axis_tdest(mac_rx_tdest[p*TW+:TW]),
        .s_axis_tvalid(mac_rx_tvalid[p]), .s_axis_tready(mac_rx_tready[p]),
        .m_clk(clk), .m_rst(rst),
        .m_axis_tdata(rxa_tdata[p*DW+:DW]), .m_axis_tkeep(rxa_tkeep[p*KW+:KW]),
        .m_axis_tlast(rxa_tlast[p]), .m_axis_tuser(rxa_tuser[p*UW+:UW]), .m_axis_tdest(rxa_tdest[p*TW+:TW]),
        .m_axis_tvalid(rxa_tvalid[p]), .m_axis_tready(rxa_tready[p])
    );
    // Any frame from the peer is a sign of life: counted when its last beat reaches the kernel side.
    assign rx_frame_end[p] = rxa_tvalid[p] && rxa_tready[p] && rxa_tlast[p];
  end

  // The host is input P, ingress port PORT_LOCAL.
  assign rxa_tdata[P*DW+:DW] = host_tx_tdata;
  assign rxa_tkeep[P*KW+:KW] = host_tx_tkeep;
  assign rxa_tlast[P] = host_tx_tlast;
  assign rxa_tuser[P*UW+:UW] = {7'b0, host_tx_tuser[8], fanout_proto_pkg::PORT_LOCAL};
  assign rxa_tdest[P*TW+:TW] = host_tx_tdest;
  assign rxa_tvalid[P] = host_tx_tvalid;
  assign host_tx_tready = rxa_tready[P];

  wire [$clog2(NR)-1:0] unused_rx_grant;
  wire unused_rx_grant_valid;
  axis_rr_arbiter #(.N(NR)) u_rx_arb (
      .clk, .rst,
      .s_axis_tdata(rxa_tdata), .s_axis_tkeep(rxa_tkeep), .s_axis_tlast(rxa_tlast),
      .s_axis_tuser(rxa_tuser), .s_axis_tdest(rxa_tdest), .s_axis_tvalid(rxa_tvalid), .s_axis_tready(rxa_tready),
      .m_axis_tdata(parser_in_tdata), .m_axis_tkeep(parser_in_tkeep), .m_axis_tlast(parser_in_tlast),
      .m_axis_tuser(parser_in_tuser), .m_axis_tdest(parser_in_tdest), .m_axis_tvalid(parser_in_tvalid),
      .m_axis_tready(parser_in_tready),
      .grant(unused_rx_grant), .grant_valid(unused_rx_grant_valid)
  );

  // ---------------------------------------------------------------- aggregator output demux
  logic          agg_in_frame;   // past the first beat of a frame: agg_held_dest routes it
  logic [TW-1:0] agg_held_dest;
  logic [31:0]   agg_dropped_q;
  wire  [TW-1:0] agg_dest = agg_in_frame ? agg_held_dest : agg_out_tdest;
  wire           agg_to_host = agg_dest == fanout_proto_pkg::PORT_LOCAL;
  wire           agg_drop = !agg_to_host && {24'b0, agg_dest} >= 32'(P);
  wire  [P-1:0]  agg_port_tvalid, agg_port_tready;
  wire           agg_host_tvalid, agg_host_tready;

  for (genvar p = 0; p < P; p++) begin : g_agg
    assign agg_port_tvalid[p] = agg_out_tvalid && agg_dest == TW'(p);
  end
  assign agg_host_tvalid = agg_out_tvalid && agg_to_host;
  // An arbiter raises tready only for the input it is serving, which has tvalid: at most one of
  // these is high, the one agg_dest selects. A dropped frame is swallowed at one beat per clock.
  assign agg_out_tready = agg_drop || agg_host_tready || |agg_port_tready;

  always_ff @(posedge clk) begin
    if (rst) begin
      agg_in_frame <= 1'b0;
      agg_held_dest <= '0;
      agg_dropped_q <= '0;
    end else if (agg_out_tvalid && agg_out_tready) begin
      agg_in_frame <= !agg_out_tlast;
      if (!agg_in_frame) begin
        agg_held_dest <= agg_out_tdest;
        if (agg_drop) agg_dropped_q <= agg_dropped_q + 1;
      end
    end
  end
  assign agg_dropped = agg_dropped_q;

  // ---------------------------------------------------------------- peer monitor split
  // Single-beat frames: each beat is routed by its own tdest (no frame state to hold).
  wire [P-1:0] peer_port_tready;
  wire         peer_drop = peer_tx_tdest >= TW'(P);
  logic [31:0] peer_dropped_q;
  assign peer_tx_tready = peer_drop || |peer_port_tready;
  always_ff @(posedge clk) begin
    if (rst) peer_dropped_q <= '0;
    else if (peer_tx_tvalid && peer_drop) peer_dropped_q <= peer_dropped_q + 1;
  end
  assign peer_dropped = peer_dropped_q;

  // ---------------------------------------------------------------- transmit: per MAC port
  // Arbiter inputs: 0 replicator copies, 1 aggregator ACK/NACK, 2 PROBE heartbeat, 3 the peer
  // monitor's frames (strict priority: PRIO_TOP).
  for (genvar p = 0; p < P; p++) begin : g_tx
    wire [DW-1:0] tx_tdata;
    wire [KW-1:0] tx_tkeep;
    wire          tx_tlast, tx_tvalid, tx_tready;
    wire [UW-1:0] tx_tuser;
    wire [TW-1:0] tx_tdest;
    wire [3:0]    in_tready;
    wire [1:0]    unused_grant;
    wire          unused_grant_valid;
    axis_rr_arbiter #(.N(4), .PRIO_TOP(1)) u_arb (
        .clk, .rst,
        .s_axis_tdata({peer_tx_tdata, probe_tdata[p*DW+:DW], agg_out_tdata, repl_port_tdata[p*DW+:DW]}),
        .s_axis_tkeep({peer_tx_tkeep, probe_tkeep[p*KW+:KW], agg_out_tkeep, repl_port_tkeep[p*KW+:KW]}),
        .s_axis_tlast({peer_tx_tlast, probe_tlast[p], agg_out_tlast, repl_port_tlast[p]}),
        // The PROBE is built here: this node is its ingress, port p its egress.
        .s_axis_tuser({peer_tx_tuser, UW'(fanout_proto_pkg::PORT_LOCAL), agg_out_tuser, repl_port_tuser[p*UW+:UW]}),
        .s_axis_tdest({TW'(p), TW'(p), agg_out_tdest, repl_port_tdest[p*TW+:TW]}),
        .s_axis_tvalid({peer_tx_tvalid && peer_tx_tdest == TW'(p), probe_tvalid[p], agg_port_tvalid[p],
                        repl_port_tvalid[p]}),
        .s_axis_tready(in_tready),
        .m_axis_tdata(tx_tdata), .m_axis_tkeep(tx_tkeep), .m_axis_tlast(tx_tlast),
        .m_axis_tuser(tx_tuser), .m_axis_tdest(tx_tdest), .m_axis_tvalid(tx_tvalid),
        .m_axis_tready(tx_tready),
        .grant(unused_grant), .grant_valid(unused_grant_valid)
    );
    assign repl_port_tready[p] = in_tready[0];
    assign agg_port_tready[p] = in_tready[1];
    assign probe_tready[p] = in_tready[2];
    assign peer_port_tready[p] = in_tready[3];
    // Any beat the port sends resets its heartbeat timer: PROBEs go out on idle links only.
    assign tx_beat[p] = tx_tvalid && tx_tready;

    axis_async_fifo #(.DEPTH(TX_FIFO_DEPTH)) u_fifo (
        .s_clk(clk), .s_rst(rst),
        .s_axis_tdata(tx_tdata), .s_axis_tkeep(tx_tkeep), .s_axis_tlast(tx_tlast),
        .s_axis_tuser(tx_tuser), .s_axis_tdest(tx_tdest), .s_axis_tvalid(tx_tvalid), .s_axis_tready(tx_tready),
        .m_clk(mac_clk), .m_rst(mac_rst),
        .m_axis_tdata(mac_tx_tdata[p*DW+:DW]), .m_axis_tkeep(mac_tx_tkeep[p*KW+:KW]),
        .m_axis_tlast(mac_tx_tlast[p]), .m_axis_tuser(mac_tx_tuser[p*UW+:UW]), .m_axis_tdest(mac_tx_tdest[p*TW+:TW]),
        .m_axis_tvalid(mac_tx_tvalid[p]), .m_axis_tready(mac_tx_tready[p])
    );
  end

  // ---------------------------------------------------------------- host receive
  wire [2:0] host_in_tready;
  wire [1:0] unused_host_grant;
  wire       unused_host_grant_valid;
  axis_rr_arbiter #(.N(3)) u_host_arb (
      .clk, .rst,
      .s_axis_tdata({agg_out_tdata, repl_host_tdata, parser_host_tdata}),
      .s_axis_tkeep({agg_out_tkeep, repl_host_tkeep, parser_host_tkeep}),
      .s_axis_tlast({agg_out_tlast, repl_host_tlast, parser_host_tlast}),
      .s_axis_tuser({agg_out_tuser, repl_host_tuser, parser_host_tuser}),
      .s_axis_tdest({agg_out_tdest, repl_host_tdest, parser_host_tdest}),
      .s_axis_tvalid({agg_host_tvalid, repl_host_tvalid, parser_host_tvalid}),
      .s_axis_tready(host_in_tready),
      .m_axis_tdata(host_rx_tdata), .m_axis_tkeep(host_rx_tkeep), .m_axis_tlast(host_rx_tlast),
      .m_axis_tuser(host_rx_tuser), .m_axis_tdest(host_rx_tdest), .m_axis_tvalid(host_rx_tvalid),
      .m_axis_tready(host_rx_tready),
      .grant(unused_host_grant), .grant_valid(unused_host_grant_valid)
  );
  assign parser_host_tready = host_in_tready[0];
  assign repl_host_tready = host_in_tready[1];
  assign agg_host_tready = host_in_tready[2];

  // The ingress port and reserved bits are rewritten above; only the bad-frame bit is read.
  wire unused_rx_tuser = ^{mac_rx_tuser, host_tx_tuser[15:9], host_tx_tuser[7:0]};
endmodule

`default_nettype wire
