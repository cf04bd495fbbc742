// axis_fifo: synchronous AXI-Stream FIFO, first-word fall-through.
//
// One clock domain (the clock-domain crossing is axis_async_fifo). DEPTH entries of one beat each
// (tdata/tkeep/tlast/tuser/tdest); s_axis_tready is low only when all DEPTH entries hold beats, so
// a full FIFO back-pressures and never drops. The head entry is presented on m_axis the clock
// after it was written. `level` counts stored beats, for status registers and tests.
//
// Parameters: DATA_W (512 on Fanout's streams), USER_W/DEST_W (axis_word sideband,
// hls/common/include/fanout/hls/axis.hpp), DEPTH (a power of two, >= 2).
`default_nettype none

module axis_fifo #(
    parameter int DATA_W = 512,
    parameter int KEEP_W = DATA_W / 8,
    parameter int USER_W = 16,
    parameter int DEST_W = 8,
    parameter int DEPTH  = 16
) (
    input  wire                    clk,
    input  wire                    rst,      // synchronous, active high: empties the FIFO

    input  wire [DATA_W-1:0]       s_axis_tdata,
    input  wire [KEEP_W-1:0]       s_axis_tkeep,
    input  wire                    s_axis_tlast,
    input  wire [USER_W-1:0]       s_axis_tuser,
    input  wire [DEST_W-1:0]       s_axis_tdest,
    input  wire                    s_axis_tvalid,
    output wire                    s_axis_tready,

    output wire [DATA_W-1:0]       m_axis_tdata,
    output wire [KEEP_W-1:0]       m_axis_tkeep,
    output wire                    m_axis_tlast,
    output wire [USER_W-1:0]       m_axis_tuser,
    output wire [DEST_W-1:0]       m_axis_tdest,
    output wire                    m_axis_tvalid,
    input  wire                    m_axis_tready,

    output wire [$clog2(DEPTH):0]  level
);
  localparam int AW = $clog2(DEPTH);
  localparam int W = DATA_W + KEEP_W + 1 + USER_W + DEST_W;

  initial begin
    if (DEPTH < 2 || (1 << AW) != DEPTH) $fatal(1, "axis_fifo: DEPTH must be a power of two >= 2");
  end

  logic [W-1:0] mem [DEPTH];
  // Pointers one bit wider than the address: equal = empty, equal but for the top bit = full.
  logic [AW:0] wr_ptr, rd_ptr;

  wire full = (wr_ptr[AW] != rd_ptr[AW]) && (wr_ptr[AW-1:0] == rd_ptr[AW-1:0]);
  wire empty = wr_ptr == rd_ptr;
  wire push = s_axis_tvalid && !full;
  wire pop = m_axis_tready && !empty;

  always_ff @(posedge clk) begin
    if (rst) begin
      wr_ptr <= '0;
      rd_ptr <= '0;
    end else begin
      if (push) begin
        mem[wr_ptr[AW-1:0]] <= {s_axis_tdata, s_axis_tkeep, s_axis_tlast, s_axis_tuser, s_axis_tdest};
        wr_ptr <= wr_ptr + 1'b1;
      end
      if (pop) rd_ptr <= rd_ptr + 1'b1;
    end
  end

  assign s_axis_tready = !full;
  assign m_axis_tvalid = !empty;
  assign {m_axis_tdata, m_axis_tkeep, m_axis_tlast, m_axis_tuser, m_axis_tdest} = mem[rd_ptr[AW-1:0]];
  assign level = wr_ptr - rd_ptr;
endmodule

`default_nettype wire
