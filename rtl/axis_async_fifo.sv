// axis_async_fifo: AXI-Stream FIFO between two clock domains (MAC 322 MHz <-> kernels 300 MHz).
//
// Classic dual-clock FIFO: the write side owns wr_ptr, the read side rd_ptr, both one bit wider
// than the address and crossed to the other domain in Gray code through two flip-flop
// synchronizers, so a pointer sampled mid-change is off by at most one step (never garbage).
// Full is computed in the write domain against a possibly stale read pointer, empty in the read
// domain against a possibly stale write pointer: both err on the safe side (a little late to say
// "room" or "data"), never on the lossy one. DEPTH must be a power of two; with the two-stage
// synchronizers a DEPTH of 16 or more sustains one beat per clock of the slower side.
//
// Resets: s_rst and m_rst, each synchronous to its own clock, must overlap (assert both, hold
// each for at least 3 clocks of the slower side).
`default_nettype none

module axis_async_fifo #(
    parameter int DATA_W = 512,
    parameter int KEEP_W = DATA_W / 8,
    parameter int USER_W = 16,
    parameter int DEST_W = 8,
    parameter int DEPTH  = 32
) (
    input  wire                s_clk,
    input  wire                s_rst,
    input  wire [DATA_W-1:0]   s_axis_tdata,
    input  wire [KEEP_W-1:0]   s_axis_tkeep,
    input  wire                s_axis_tlast,
    input  wire [USER_W-1:0]   s_axis_tuser,
    input  wire [DEST_W-1:0]   s_axis_tdest,
    input  wire                s_axis_tvalid,
    output wire                s_axis_tready,

    input  wire                m_clk,
    input  wire                m_rst,
    output wire [DATA_W-1:0]   m_axis_tdata,
    output wire [KEEP_W-1:0]   m_axis_tkeep,
    output wire                m_axis_tlast,
    output wire [USER_W-1:0]   m_axis_tuser,
    output wire [DEST_W-1:0]   m_axis_tdest,
    output wire                m_axis_tvalid,
    input  wire                m_axis_tready
);
  localparam int AW = $clog2(DEPTH);
  localparam int W = DATA_W + KEEP_W + 1 + USER_W + DEST_W;

  initial begin
    if (DEPTH < 4 || (1 << AW) != DEPTH) $fatal(1, "axis_async_fifo: DEPTH must be a power of two >= 4");
  end

  function automatic logic [AW:0] bin2gray(input logic [AW:0] b);
    bin2gray = b ^ (b >> 1);
  endfunction
  function automatic logic [AW:0] gray2bin(input logic [AW:0] g);
    logic [AW:0] b;
    b[AW] = g[AW];
    for (int i = AW - 1; i >= 0; i--) b[i] = b[i+1] ^ g[i];
    gray2bin = b;
  endfunction

  logic [W-1:0] mem [DEPTH];

  // ---- write domain ----
  logic [AW:0] wr_bin, wr_gray;
  (* ASYNC_REG = "TRUE" *) logic [AW:0] rd_gray_s1, rd_gray_s2; // read pointer, synchronized
  wire [AW:0] rd_bin_w = gray2bin(rd_gray_s2);
  wire full = (wr_bin[AW] != rd_bin_w[AW]) && (wr_bin[AW-1:0] == rd_bin_w[AW-1:0]);
  wire push = s_axis_tvalid && !full;

  always_ff @(posedge s_clk) begin
    if (s_rst) begin
      wr_bin <= '0;
      wr_gray <= '0;
      rd_gray_s1 <= '0;
      rd_gray_s2 <= '0;
    end else begin
      rd_gray_s1 <= rd_gray;
      rd_gray_s2 <= rd_gray_s1;
      if (push) begin
        mem[wr_bin[AW-1:0]] <= {s_axis_tdata, s_axis_tkeep, s_axis_tlast, s_axis_tuser, s_axis_tdest};
        wr_bin <= wr_bin + 1'b1;
        wr_gray <= bin2gray(wr_bin + 1'b1);
      end
    end
  end
  assign s_axis_tready = !full;

  // ---- read domain ----
  logic [AW:0] rd_bin, rd_gray;
  (* ASYNC_REG = "TRUE" *) logic [AW:0] wr_gray_s1, wr_gray_s2; // write pointer, synchronized
  wire [AW:0] wr_bin_r = gray2bin(wr_gray_s2);
  wire empty = rd_bin == wr_bin_r;
  wire pop = m_axis_tready && !empty;

  always_ff @(posedge m_clk) begin
    if (m_rst) begin
      rd_bin <= '0;
      rd_gray <= '0;
      wr_gray_s1 <= '0;
      wr_gray_s2 <= '0;
    end else begin
      wr_gray_s1 <= wr_gray;
      wr_gray_s2 <= wr_gray_s1;
      if (pop) begin
        rd_bin <= rd_bin + 1'b1;
        rd_gray <= bin2gray(rd_bin + 1'b1);
      end
    end
  end
  assign m_axis_tvalid = !empty;
  assign {m_axis_tdata, m_axis_tkeep, m_axis_tlast, m_axis_tuser, m_axis_tdest} = mem[rd_bin[AW-1:0]];
endmodule

`default_nettype wire
