// fanout_shell_kernel: the NIC shell (rtl/fanout_nic_top.sv, P = 2) as the Vitis RTL kernel
// `fanout_shell` of constraints/alveo_design.yaml. It renames the top's ports, splits its packed
// per-port buses and puts one flop on each reset; its only logic turns port_down into a stream.
//
// Interfaces, named by the YAML's convention (its header), described in rtl/alveo/kernel.xml and
// packaged by rtl/alveo/package_xo.tcl (ctest alveo_shell_kernel_consistent checks this port
// list and kernel.xml against the YAML as scripts/gen_alveo.py reads it):
//
//   ap_clk,   ap_rst_n     the top's clk / rst: the kernel clock (300 MHz). Every interface but
//                          the MACs' is on it.
//   ap_clk_2, ap_rst_n_2   the top's mac_clk / mac_rst: the MAC side of its async FIFOs, i.e.
//                          s_axis_mac_rx_<p> and m_axis_mac_tx_<p>. The xup CMAC kernels present
//                          their streams on their own ap_clk (the kernel clock; the YAML's
//                          "Clocks" note), so link.cfg gives ap_clk_2 300 MHz too.
//   s_axis_<bus>, m_axis_<bus>   one AXI4-Stream per stream bus of the top (s_ = the shell reads
//                          it, m_ = the shell drives it), a packed per-port bus split as _<p>
//                          (port p was bits [p*W +: W]): TDATA 512, TKEEP 64, TLAST, TUSER 16,
//                          TDEST 8 (hls/common/include/fanout/hls/axis.hpp; no TSTRB, which the
//                          AXI4-Stream default makes equal to TKEEP).
//   m_axis_port_down       the top's port_down level (bit p = port p down) as an 8-bit stream,
//                          TDATA only: a beat once after reset and whenever the value changes,
//                          because v++ connects kernels by streams only. The replicator reads it
//                          non-blocking and keeps the last value (docs/hls.md). Under
//                          back-pressure the beat on offer holds (AXI4-Stream); when it is taken
//                          the value of that clock follows if it differs, so the last beat always
//                          carries the current value and intermediate ones may be skipped.
//   s_axi_control          the top's AXI-Lite register block (fanout_regs, rtl/regs/
//                          fanout_regs.yaml), 12-bit byte addresses = the YAML's range 0x1000.
//                          ap_ctrl_none: no ap_start/ap_done registers, the map starts with the
//                          `nic` block's type at 0x000.
//
// mac_link_up is tied high: the xup CMAC kernels have no link-status output (their status is the
// stat_rx_status register). A dead link is found by the link monitor's silence timeout
// (3 heartbeat intervals, link.interval) instead of the next clock.
// Not packaged (the YAML's header): cfg_* (on the card software writes each kernel's own
// s_axilite registers), agg_dropped and peer_dropped.
//
// Resets: ap_rst_n / ap_rst_n_2 are synchronous to their clocks and active low (UG1393 "Kernel
// Interface Requirements": "should be internally pipelined"): one flop each, inverted, into the
// top's active-high rst / mac_rst. The platform asserts both at kernel reset, which gives the
// overlap the top's async FIFOs need.
`default_nettype none

module fanout_shell_kernel (
    input  wire          ap_clk,
    input  wire          ap_rst_n,
    input  wire          ap_clk_2,
    input  wire          ap_rst_n_2,

    // ---- s_axi_control (ap_clk): the register block ----
    input  wire [11:0]   s_axi_control_awaddr,
    input  wire          s_axi_control_awvalid,
    output wire          s_axi_control_awready,
    input  wire [31:0]   s_axi_control_wdata,
    input  wire [3:0]    s_axi_control_wstrb,
    input  wire          s_axi_control_wvalid,
    output wire          s_axi_control_wready,
    output wire [1:0]    s_axi_control_bresp,
    output wire          s_axi_control_bvalid,
    input  wire          s_axi_control_bready,
    input  wire [11:0]   s_axi_control_araddr,
    input  wire          s_axi_control_arvalid,
    output wire          s_axi_control_arready,
    output wire [31:0]   s_axi_control_rdata,
    output wire [1:0]    s_axi_control_rresp,
    output wire          s_axi_control_rvalid,
    input  wire          s_axi_control_rready,

    // ---- MAC side (ap_clk_2) ----
    input  wire [511:0]  s_axis_mac_rx_0_tdata,
    input  wire [63:0]   s_axis_mac_rx_0_tkeep,
    input  wire          s_axis_mac_rx_0_tlast,
    input  wire [15:0]   s_axis_mac_rx_0_tuser,
    input  wire [7:0]    s_axis_mac_rx_0_tdest,
    input  wire          s_axis_mac_rx_0_tvalid,
    output wire          s_axis_mac_rx_0_tready,

    input  wire [511:0]  s_axis_mac_rx_1_tdata,
    input  wire [63:0]   s_axis_mac_rx_1_tkeep,
    input  wire          s_axis_mac_rx_1_tlast,
    input  wire [15:0]   s_axis_mac_rx_1_tuser,
    input  wire [7:0]    s_axis_mac_rx_1_tdest,
    input  wire          s_axis_mac_rx_1_tvalid,
    output wire          s_axis_mac_rx_1_tready,

    output wire [511:0]  m_axis_mac_tx_0_tdata,
    output wire [63:0]   m_axis_mac_tx_0_tkeep,
    output wire          m_axis_mac_tx_0_tlast,
    output wire [15:0]   m_axis_mac_tx_0_tuser,
    output wire [7:0]    m_axis_mac_tx_0_tdest,
    output wire          m_axis_mac_tx_0_tvalid,
    input  wire          m_axis_mac_tx_0_tready,

    output wire [511:0]  m_axis_mac_tx_1_tdata,
    output wire [63:0]   m_axis_mac_tx_1_tkeep,
    output wire          m_axis_mac_tx_1_tlast,
    output wire [15:0]   m_axis_mac_tx_1_tuser,
    output wire [7:0]    m_axis_mac_tx_1_tdest,
    output wire          m_axis_mac_tx_1_tvalid,
    input  wire          m_axis_mac_tx_1_tready,

    // ---- host side (ap_clk) ----
    input  wire [511:0]  s_axis_host_tx_tdata,
    input  wire [63:0]   s_axis_host_tx_tkeep,
    input  wire          s_axis_host_tx_tlast,
    input  wire [15:0]   s_axis_host_tx_tuser,
    input  wire [7:0]    s_axis_host_tx_tdest,
    input  wire          s_axis_host_tx_tvalid,
    output wire          s_axis_host_tx_tready,

    output wire [511:0]  m_axis_host_rx_tdata,
    output wire [63:0]   m_axis_host_rx_tkeep,
    output wire          m_axis_host_rx_tlast,
    output wire [15:0]   m_axis_host_rx_tuser,
    output wire [7:0]    m_axis_host_rx_tdest,
    output wire          m_axis_host_rx_tvalid,
    input  wire          m_axis_host_rx_tready,

    // ---- kernel side (ap_clk) ----
    output wire [511:0]  m_axis_parser_in_tdata,
    output wire [63:0]   m_axis_parser_in_tkeep,
    output wire          m_axis_parser_in_tlast,
    output wire [15:0]   m_axis_parser_in_tuser,
    output wire [7:0]    m_axis_parser_in_tdest,
    output wire          m_axis_parser_in_tvalid,
    input  wire          m_axis_parser_in_tready,

    input  wire [511:0]  s_axis_parser_host_tdata,
    input  wire [63:0]   s_axis_parser_host_tkeep,
    input  wire          s_axis_parser_host_tlast,
    input  wire [15:0]   s_axis_parser_host_tuser,
    input  wire [7:0]    s_axis_parser_host_tdest,
    input  wire          s_axis_parser_host_tvalid,
    output wire          s_axis_parser_host_tready,

    input  wire [511:0]  s_axis_repl_port_0_tdata,
    input  wire [63:0]   s_axis_repl_port_0_tkeep,
    input  wire          s_axis_repl_port_0_tlast,
    input  wire [15:0]   s_axis_repl_port_0_tuser,
    input  wire [7:0]    s_axis_repl_port_0_tdest,
    input  wire          s_axis_repl_port_0_tvalid,
    output wire          s_axis_repl_port_0_tready,

    input  wire [511:0]  s_axis_repl_port_1_tdata,
    input  wire [63:0]   s_axis_repl_port_1_tkeep,
    input  wire          s_axis_repl_port_1_tlast,
    input  wire [15:0]   s_axis_repl_port_1_tuser,
    input  wire [7:0]    s_axis_repl_port_1_tdest,
    input  wire          s_axis_repl_port_1_tvalid,
    output wire          s_axis_repl_port_1_tready,

    input  wire [511:0]  s_axis_repl_host_tdata,
    input  wire [63:0]   s_axis_repl_host_tkeep,
    input  wire          s_axis_repl_host_tlast,
    input  wire [15:0]   s_axis_repl_host_tuser,
    input  wire [7:0]    s_axis_repl_host_tdest,
    input  wire          s_axis_repl_host_tvalid,
    output wire          s_axis_repl_host_tready,

    input  wire [511:0]  s_axis_agg_out_tdata,
    input  wire [63:0]   s_axis_agg_out_tkeep,
    input  wire          s_axis_agg_out_tlast,
    input  wire [15:0]   s_axis_agg_out_tuser,
    input  wire [7:0]    s_axis_agg_out_tdest,
    input  wire          s_axis_agg_out_tvalid,
    output wire          s_axis_agg_out_tready,

    input  wire [511:0]  s_axis_peer_tx_tdata,
    input  wire [63:0]   s_axis_peer_tx_tkeep,
    input  wire          s_axis_peer_tx_tlast,
    input  wire [15:0]   s_axis_peer_tx_tuser,
    input  wire [7:0]    s_axis_peer_tx_tdest,
    input  wire          s_axis_peer_tx_tvalid,
    output wire          s_axis_peer_tx_tready,

    output wire [7:0]    m_axis_port_down_tdata,
    output wire          m_axis_port_down_tvalid,
    input  wire          m_axis_port_down_tready
);
  localparam int P = 2;  // MAC ports: the YAML's `ports`, one interface per port above

  // ---------------------------------------------------------------- resets, one flop each
  logic rst, mac_rst;
  always_ff @(posedge ap_clk) rst <= !ap_rst_n;
  always_ff @(posedge ap_clk_2) mac_rst <= !ap_rst_n_2;

  // ---------------------------------------------------------------- the shell
  wire [P-1:0] port_down;
  wire [15:0]  unused_cfg_node_id;
  wire [47:0]  unused_cfg_mac;
  wire [31:0]  unused_cfg_ipv4;
  wire [15:0]  unused_cfg_udp_port;
  wire [31:0]  unused_agg_dropped;
  wire [31:0]  unused_peer_dropped;

  fanout_nic_top #(.P(P)) u_top (
      .mac_clk(ap_clk_2), .mac_rst, .clk(ap_clk), .rst,

      // Per-port buses: port p at [p*W +: W], so port 1 is the upper half.
      .mac_rx_tdata({s_axis_mac_rx_1_tdata, s_axis_mac_rx_0_tdata}),
      .mac_rx_tkeep({s_axis_mac_rx_1_tkeep, s_axis_mac_rx_0_tkeep}),
      .mac_rx_tlast({s_axis_mac_rx_1_tlast, s_axis_mac_rx_0_tlast}),
      .mac_rx_tuser({s_axis_mac_rx_1_tuser, s_axis_mac_rx_0_tuser}),
      .mac_rx_tdest({s_axis_mac_rx_1_tdest, s_axis_mac_rx_0_tdest}),
      .mac_rx_tvalid({s_axis_mac_rx_1_tvalid, s_axis_mac_rx_0_tvalid}),
      .mac_rx_tready({s_axis_mac_rx_1_tready, s_axis_mac_rx_0_tready}),

      .mac_tx_tdata({m_axis_mac_tx_1_tdata, m_axis_mac_tx_0_tdata}),
      .mac_tx_tkeep({m_axis_mac_tx_1_tkeep, m_axis_mac_tx_0_tkeep}),
      .mac_tx_tlast({m_axis_mac_tx_1_tlast, m_axis_mac_tx_0_tlast}),
      .mac_tx_tuser({m_axis_mac_tx_1_tuser, m_axis_mac_tx_0_tuser}),
      .mac_tx_tdest({m_axis_mac_tx_1_tdest, m_axis_mac_tx_0_tdest}),
      .mac_tx_tvalid({m_axis_mac_tx_1_tvalid, m_axis_mac_tx_0_tvalid}),
      .mac_tx_tready({m_axis_mac_tx_1_tready, m_axis_mac_tx_0_tready}),

      // No link-status wire from the xup CMAC kernels: up; silence finds a dead link.
      .mac_link_up({P{1'b1}}),

      .host_tx_tdata(s_axis_host_tx_tdata), .host_tx_tkeep(s_axis_host_tx_tkeep),
      .host_tx_tlast(s_axis_host_tx_tlast), .host_tx_tuser(s_axis_host_tx_tuser),
      .host_tx_tdest(s_axis_host_tx_tdest), .host_tx_tvalid(s_axis_host_tx_tvalid),
      .host_tx_tready(s_axis_host_tx_tready),

      .host_rx_tdata(m_axis_host_rx_tdata), .host_rx_tkeep(m_axis_host_rx_tkeep),
      .host_rx_tlast(m_axis_host_rx_tlast), .host_rx_tuser(m_axis_host_rx_tuser),
      .host_rx_tdest(m_axis_host_rx_tdest), .host_rx_tvalid(m_axis_host_rx_tvalid),
      .host_rx_tready(m_axis_host_rx_tready),

      .parser_in_tdata(m_axis_parser_in_tdata), .parser_in_tkeep(m_axis_parser_in_tkeep),
      .parser_in_tlast(m_axis_parser_in_tlast), .parser_in_tuser(m_axis_parser_in_tuser),
      .parser_in_tdest(m_axis_parser_in_tdest), .parser_in_tvalid(m_axis_parser_in_tvalid),
      .parser_in_tready(m_axis_parser_in_tready),

      .parser_host_tdata(s_axis_parser_host_tdata), .parser_host_tkeep(s_axis_parser_host_tkeep),
      .parser_host_tlast(s_axis_parser_host_tlast), .parser_host_tuser(s_axis_parser_host_tuser),
      .parser_host_tdest(s_axis_parser_host_tdest), .parser_host_tvalid(s_axis_parser_host_tvalid),
      .parser_host_tready(s_axis_parser_host_tready),

      .repl_port_tdata({s_axis_repl_port_1_tdata, s_axis_repl_port_0_tdata}),
      .repl_port_tkeep({s_axis_repl_port_1_tkeep, s_axis_repl_port_0_tkeep}),
      .repl_port_tlast({s_axis_repl_port_1_tlast, s_axis_repl_port_0_tlast}),
      .repl_port_tuser({s_axis_repl_port_1_tuser, s_axis_repl_port_0_tuser}),
      .repl_port_tdest({s_axis_repl_port_1_tdest, s_axis_repl_port_0_tdest}),
      .repl_port_tvalid({s_axis_repl_port_1_tvalid, s_axis_repl_port_0_tvalid}),
      .repl_port_tready({s_axis_repl_port_1_tready, s_axis_repl_port_0_tready}),

      .repl_host_tdata(s_axis_repl_host_tdata), .repl_host_tkeep(s_axis_repl_host_tkeep),
      .repl_host_tlast(s_axis_repl_host_tlast), .repl_host_tuser(s_axis_repl_host_tuser),
      .repl_host_tdest(s_axis_repl_host_tdest), .repl_host_tvalid(s_axis_repl_host_tvalid),
      .repl_host_tready(s_axis_repl_host_tready),

      .agg_out_tdata(s_axis_agg_out_tdata), .agg_out_tkeep(s_axis_agg_out_tkeep),
      .agg_out_tlast(s_axis_agg_out_tlast), .agg_out_tuser(s_axis_agg_out_tuser),
      .agg_out_tdest(s_axis_agg_out_tdest), .agg_out_tvalid(s_axis_agg_out_tvalid),
      .agg_out_tready(s_axis_agg_out_tready),

      .peer_tx_tdata(s_axis_peer_tx_tdata), .peer_tx_tkeep(s_axis_peer_tx_tkeep),
      .peer_tx_tlast(s_axis_peer_tx_tlast), .peer_tx_tuser(s_axis_peer_tx_tuser),
      .peer_tx_tdest(s_axis_peer_tx_tdest), .peer_tx_tvalid(s_axis_peer_tx_tvalid),
      .peer_tx_tready(s_axis_peer_tx_tready),

      .port_down,

      .cfg_node_id(unused_cfg_node_id), .cfg_mac(unused_cfg_mac), .cfg_ipv4(unused_cfg_ipv4),
      .cfg_udp_port(unused_cfg_udp_port), .agg_dropped(unused_agg_dropped),
      .peer_dropped(unused_peer_dropped),

      .s_axil_awaddr(s_axi_control_awaddr), .s_axil_awvalid(s_axi_control_awvalid),
      .s_axil_awready(s_axi_control_awready), .s_axil_wdata(s_axi_control_wdata),
      .s_axil_wstrb(s_axi_control_wstrb), .s_axil_wvalid(s_axi_control_wvalid),
      .s_axil_wready(s_axi_control_wready), .s_axil_bresp(s_axi_control_bresp),
      .s_axil_bvalid(s_axi_control_bvalid), .s_axil_bready(s_axi_control_bready),
      .s_axil_araddr(s_axi_control_araddr), .s_axil_arvalid(s_axi_control_arvalid),
      .s_axil_arready(s_axi_control_arready), .s_axil_rdata(s_axi_control_rdata),
      .s_axil_rresp(s_axi_control_rresp), .s_axil_rvalid(s_axi_control_rvalid),
      .s_axil_rready(s_axi_control_rready)
  );

  // ---------------------------------------------------------------- port_down as a stream
  // pd_data is the value of the beat on offer, or of the last beat taken. A new beat is loaded
  // when the slot is free after this clock (nothing on offer, or the offer taken now) and the
  // current value differs from pd_data, or once after reset (pd_first).
  wire [7:0] pd_now = 8'(port_down);
  logic [7:0] pd_data;
  logic       pd_valid, pd_first;
  always_ff @(posedge ap_clk) begin
    if (rst) begin
      pd_data <= '0;
      pd_valid <= 1'b0;
      pd_first <= 1'b1;
    end else begin
      if (pd_valid && m_axis_port_down_tready) pd_valid <= 1'b0;
      if ((!pd_valid || m_axis_port_down_tready) && (pd_first || pd_now != pd_data)) begin
        pd_data <= pd_now;
        pd_valid <= 1'b1;
        pd_first <= 1'b0;
      end
    end
  end
  assign m_axis_port_down_tdata = pd_data;
  assign m_axis_port_down_tvalid = pd_valid;
endmodule

`default_nettype wire
