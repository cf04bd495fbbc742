// axis_rr_arbiter: N AXI-Stream inputs onto one output, whole frames, fair round robin.
//
// Frames are never interleaved: once an input's first beat is granted, that input keeps the
// output until its tlast beat has been taken. The next grant goes to the first input with a beat
// waiting, searching from the one after the input last served: with every input busy, each
// sends one frame in turn, so ACK/NACK traffic never starves behind data nor data behind
// feedback (the NIC shell merges the replicator's copies and the ACK aggregator's output here).
// A waiting input is served within N - 1 frames of the others.
//
// PRIO_TOP = 1 makes input N-1 a strict-priority input: at every frame boundary it is served
// first when it has a beat waiting, and it does not move the rotation of the others (the NIC's
// peer-monitor heartbeats: one beat each, a few per microsecond, which must not wait behind
// N - 1 data frames). Its frames still never interrupt another input's frame.
//
// Inputs are packed side by side (input i in bits [i*W +: W]), as corundum's arbiters do.
// `grant` / `grant_valid` show who holds the output (status, tests).
`default_nettype none

module axis_rr_arbiter #(
    parameter int N      = 2,
    parameter int PRIO_TOP = 0,  // 1: input N-1 has strict priority
    parameter int DATA_W = 512,
    parameter int KEEP_W = DATA_W / 8,
    parameter int USER_W = 16,
    parameter int DEST_W = 8
) (
    input  wire                    clk,
    input  wire                    rst,

    input  wire [N*DATA_W-1:0]     s_axis_tdata,
    input  wire [N*KEEP_W-1:0]     s_axis_tkeep,
    input  wire [N-1:0]            s_axis_tlast,
    input  wire [N*USER_W-1:0]     s_axis_tuser,
    input  wire [N*DEST_W-1:0]     s_axis_tdest,
    input  wire [N-1:0]            s_axis_tvalid,
    output wire [N-1:0]            s_axis_tready,

    output wire [DATA_W-1:0]       m_axis_tdata,
    output wire [KEEP_W-1:0]       m_axis_tkeep,
    output wire                    m_axis_tlast,
    output wire [USER_W-1:0]       m_axis_tuser,
    output wire [DEST_W-1:0]       m_axis_tdest,
    output wire                    m_axis_tvalid,
    input  wire                    m_axis_tready,

    output wire [$clog2(N)-1:0]    grant,
    output wire                    grant_valid
);
  localparam int SW = $clog2(N);

  initial begin
    if (N < 2) $fatal(1, "axis_rr_arbiter: N must be >= 2");
  end

  logic          locked;    // inside a frame: sel is fixed until its tlast
  logic [SW-1:0] sel;       // input holding the output while locked
  logic [SW-1:0] next_prio; // first input to consider at the next frame boundary

  // At a frame boundary: the first valid input at or after next_prio (wrapping).
  logic [SW-1:0] pick;
  logic          pick_valid;
  logic [SW:0]   idx;  // next_prio + k, wrapped without a modulo (a divider for N not a power of 2)
  always_comb begin
    pick = next_prio;
    pick_valid = 1'b0;
    idx = '0;
    for (int k = N - 1; k >= 0; k--) begin
      // Scanning downwards so the lowest offset wins.
      idx = {1'b0, next_prio} + (SW + 1)'(k);
      if (idx >= (SW + 1)'(N)) idx = idx - (SW + 1)'(N);
      if (s_axis_tvalid[idx[SW-1:0]]) begin
        pick = idx[SW-1:0];
        pick_valid = 1'b1;
      end
    end
    if (PRIO_TOP != 0 && s_axis_tvalid[N-1]) begin
      pick = SW'(N - 1);
      pick_valid = 1'b1;
    end
  end

  wire [SW-1:0] cur = locked ? sel : pick;
  wire cur_valid = locked ? s_axis_tvalid[cur] : pick_valid;
  wire take = cur_valid && m_axis_tready;

  always_ff @(posedge clk) begin
    if (rst) begin
      locked <= 1'b0;
      sel <= '0;
      next_prio <= '0;
    end else if (take) begin
      if (s_axis_tlast[cur]) begin
        locked <= 1'b0;
        // A priority frame leaves the rotation where it was.
        if (!(PRIO_TOP != 0 && 32'(cur) == N - 1)) next_prio <= (32'(cur) == N - 1) ? '0 : cur + 1'b1;
      end else begin
        locked <= 1'b1;
        sel <= cur;
      end
    end
  end

  // Output mux as AND-OR over a one-hot select: constant part-selects only, so it maps to N-input
  // LUT trees for any N (an indexed part-select [cur*W +: W] becomes a barrel shifter in yosys,
  // ~9,700 LUTs for N = 3).
  logic [DATA_W-1:0] mux_tdata;
  logic [KEEP_W-1:0] mux_tkeep;
  logic [USER_W-1:0] mux_tuser;
  logic [DEST_W-1:0] mux_tdest;
  logic              mux_tlast;
  always_comb begin
    mux_tdata = '0;
    mux_tkeep = '0;
    mux_tuser = '0;
    mux_tdest = '0;
    mux_tlast = 1'b0;
    for (int i = 0; i < N; i++) begin
      if (cur == SW'(i)) begin
        mux_tdata = mux_tdata | s_axis_tdata[i*DATA_W+:DATA_W];
        mux_tkeep = mux_tkeep | s_axis_tkeep[i*KEEP_W+:KEEP_W];
        mux_tuser = mux_tuser | s_axis_tuser[i*USER_W+:USER_W];
        mux_tdest = mux_tdest | s_axis_tdest[i*DEST_W+:DEST_W];
        mux_tlast = mux_tlast | s_axis_tlast[i];
      end
    end
  end
  assign m_axis_tdata = mux_tdata;
  assign m_axis_tkeep = mux_tkeep;
  assign m_axis_tlast = mux_tlast;
  assign m_axis_tuser = mux_tuser;
  assign m_axis_tdest = mux_tdest;
  assign m_axis_tvalid = cur_valid;
  for (genvar i = 0; i < N; i++) begin : g_ready
    assign s_axis_tready[i] = m_axis_tready && (cur == SW'(i)) && cur_valid;
  end

  assign grant = cur;
  assign grant_valid = cur_valid;
endmodule

`default_nettype wire
