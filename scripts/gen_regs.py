#!/usr/bin/env python3
"""Generate the Fanout register block, the HLS kernels' register maps and their software map from
one definition.

    scripts/gen_regs.py [--check] [definition.yaml]

Reads rtl/regs/fanout_regs.yaml (the only place a register is defined) and writes
  rtl/generated/fanout_regs.sv                            AXI-Lite register block (SystemVerilog)
  driver/include/fanout/regs.hpp                          offsets, block types and versions, the
                                                          kernels' maps (C++17)
  hls/common/include/fanout/hls/generated/kernel_regs.hpp the kernels' offsets as macros for
                                                          their s_axilite pragmas (C++14)
--check writes nothing and exits 1, naming the stale file, when one differs from what would be
generated (ctest regs_generated_up_to_date). Errors in the definition name the block or kernel,
the register and the field.
"""
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER_REGS = [  # every block starts with these (see the definition file)
    {"name": "type", "offset": 0x00, "access": "id", "doc": "block type"},
    {"name": "version", "offset": 0x04, "access": "id", "doc": "block layout version"},
    {"name": "next", "offset": 0x08, "access": "id", "doc": "byte offset of the next block, 0 for the last"},
]


class DefinitionError(Exception):
    pass


def need(obj, key, where, kind=None):
    if key not in obj:
        raise DefinitionError(f"{where}: missing field '{key}'")
    v = obj[key]
    if kind is not None and not isinstance(v, kind):
        raise DefinitionError(f"{where}: field '{key}' must be {kind.__name__}, got {v!r}")
    return v


def load(path):
    with open(path) as f:
        d = yaml.safe_load(f)
    where = os.path.relpath(path, ROOT)
    aw = need(d, "address_width", where, int)
    max_ports = need(d, "max_ports", where, int)
    if need(d, "data_width", where, int) != 32:
        raise DefinitionError(f"{where}: data_width must be 32")
    blocks = need(d, "blocks", where, list)
    seen_bases = set()
    for bi, b in enumerate(blocks):
        bw = f"{where}: blocks[{bi}]"
        name = need(b, "name", bw, str)
        bw = f"{where}: block '{name}'"
        for k in ("type", "version", "base"):
            need(b, k, bw, int)
        if b["base"] % 0x100 or b["base"] in seen_bases or b["base"] >= (1 << aw):
            raise DefinitionError(f"{bw}: base 0x{b['base']:x} must be a unique multiple of 0x100 below 2^{aw}")
        seen_bases.add(b["base"])
        used = {0x00: "type", 0x04: "version", 0x08: "next"}
        regs = need(b, "registers", bw, list)
        for r in regs:
            rname = need(r, "name", bw, str)
            rw = f"{bw}, register '{rname}'"
            off = need(r, "offset", rw, int)
            acc = need(r, "access", rw, str)
            if acc not in ("ro", "rw"):
                raise DefinitionError(f"{rw}: access must be ro or rw, got {acc!r}")
            count = r.get("count", 1)
            if not isinstance(count, int) or count < 1 or count > max_ports:
                raise DefinitionError(f"{rw}: count must be 1..{max_ports}")
            bits = r.get("bits", 32)
            if not isinstance(bits, int) or not 1 <= bits <= 32:
                raise DefinitionError(f"{rw}: bits must be 1..32")
            if acc == "rw" and count != 1:
                raise DefinitionError(f"{rw}: rw arrays are not supported")
            if acc == "rw" and not isinstance(r.get("reset"), int):
                raise DefinitionError(f"{rw}: rw registers need an integer 'reset'")
            if off % 4:
                raise DefinitionError(f"{rw}: offset 0x{off:x} is not 4-byte aligned")
            for i in range(count):
                o = off + 4 * i
                if o in used:
                    raise DefinitionError(f"{rw}: offset 0x{o:x} already used by '{used[o]}'")
                if o >= 0x100:
                    raise DefinitionError(f"{rw}: offset 0x{o:x} runs past the block's 0x100 bytes")
                used[o] = rname
            r.setdefault("count", 1)
            r.setdefault("bits", 32)
            r.setdefault("doc", "")
    load_kernels(d, where)
    return d


# ---- HLS kernels (the `kernels:` section; rules in the definition file) ----
KERNEL_CONTROLS = ("ap_ctrl_none", "ap_ctrl_hs")
KERNEL_KINDS = ("m_axi",)
KERNEL_USER_BASE = 0x10  # 0x00-0x0C: block-level control registers
KERNEL_STREAM_MAX_BITS = 4096  # Vitis HLS's widest AXI4-Stream port
KERNEL_KEYS = ("name", "top", "source", "control", "doc", "registers", "streams")
KERNEL_REG_KEYS = ("name", "offset", "access", "bits", "count", "kind", "port", "doc")
KERNEL_STREAM_KEYS = ("name", "dir", "bits", "doc")
# Names the generated namespace declares itself.
KERNEL_NAMESPACE_NAMES = ("kKernelName", "kControl")
IDENT = re.compile(r"^[a-z][a-z0-9_]*$")


def pow2_at_least(n):
    p = 1
    while p < n:
        p *= 2
    return p


def kernel_reg_span(r):
    """Bytes a register occupies in the s_axilite space (for overlap checks) and the alignment
    its offset needs."""
    bits = r["bits"]
    if "count" in r:
        # An s_axilite memory: elements of 8, 16 or 32 bits packed in 32-bit words, wider ones in
        # whole words; the span is a power of two and the offset a multiple of it.
        if bits <= 32:
            elem = 8 if bits <= 8 else 16 if bits <= 16 else 32
            nbytes = 4 * ((r["count"] * elem + 31) // 32)
        else:
            nbytes = 4 * r["count"] * ((bits + 31) // 32)
        span = pow2_at_least(nbytes)
        return span, span
    # A scalar or a pointer's address: its data words plus one control word.
    return 4 * ((bits + 31) // 32 + 1), 4


def unknown_keys(obj, known, where):
    for key in obj:
        if key not in known:
            raise DefinitionError(f"{where}: unknown field '{key}' (known: {', '.join(known)})")


def load_kernels(d, where):
    kernels = d.get("kernels", [])
    if not isinstance(kernels, list):
        raise DefinitionError(f"{where}: field 'kernels' must be list, got {kernels!r}")
    block_names = {b["name"] for b in d["blocks"]}
    seen = {}
    seen_tops = {}
    macros = {}
    for ki, k in enumerate(kernels):
        kw = f"{where}: kernels[{ki}]"
        name = need(k, "name", kw, str)
        kw = f"{where}: kernel '{name}'"
        unknown_keys(k, KERNEL_KEYS, kw)
        if not IDENT.match(name):
            raise DefinitionError(f"{kw}: field 'name' must be a lower-case C identifier")
        if name in seen or name in block_names:
            raise DefinitionError(f"{kw}: field 'name' already used by another kernel or block")
        seen[name] = True
        top = need(k, "top", kw, str)
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", top) or top in seen_tops:
            raise DefinitionError(f"{kw}: field 'top' must be a unique C identifier, got {top!r}")
        seen_tops[top] = True
        need(k, "source", kw, str)
        control = need(k, "control", kw, str)
        if control not in KERNEL_CONTROLS:
            raise DefinitionError(f"{kw}: field 'control' must be one of {', '.join(KERNEL_CONTROLS)}, got {control!r}")
        k.setdefault("doc", "")
        regs = need(k, "registers", kw, list)
        used = []  # (first byte, end, name)
        names = set()
        for ri, r in enumerate(regs):
            rname = need(r, "name", f"{kw}, registers[{ri}]", str)
            rw = f"{kw}, register '{rname}'"
            unknown_keys(r, KERNEL_REG_KEYS, rw)
            if not IDENT.match(rname):
                raise DefinitionError(f"{rw}: field 'name' must be a lower-case C identifier")
            if rname in names:
                raise DefinitionError(f"{rw}: field 'name' already used in this kernel")
            names.add(rname)
            off = need(r, "offset", rw, int)
            kind = r.get("kind", "s_axilite")
            if kind != "s_axilite" and kind not in KERNEL_KINDS:
                raise DefinitionError(f"{rw}: field 'kind' must be one of {', '.join(KERNEL_KINDS)}, got {kind!r}")
            if kind == "m_axi":
                need(r, "port", rw, str)
                if "count" in r:
                    raise DefinitionError(f"{rw}: field 'count': an m_axi pointer is not an array")
                if r.get("bits", 64) != 64:
                    raise DefinitionError(f"{rw}: field 'bits' must be 64 for an m_axi pointer")
                r.setdefault("bits", 64)
                r.setdefault("access", "rw")
            elif "port" in r:
                raise DefinitionError(f"{rw}: field 'port' is only for kind m_axi")
            acc = need(r, "access", rw, str)
            if acc not in ("ro", "rw"):
                raise DefinitionError(f"{rw}: field 'access' must be ro or rw, got {acc!r}")
            if kind == "m_axi" and acc != "rw":
                raise DefinitionError(f"{rw}: field 'access' must be rw for an m_axi pointer")
            bits = r.get("bits", 32)
            if not isinstance(bits, int) or isinstance(bits, bool) or not 1 <= bits <= 64:
                raise DefinitionError(f"{rw}: field 'bits' must be 1..64")
            r["bits"] = bits
            if "count" in r:
                count = r["count"]
                if not isinstance(count, int) or isinstance(count, bool) or count < 1:
                    raise DefinitionError(f"{rw}: field 'count' must be an integer >= 1")
            if "reset" in r:
                raise DefinitionError(f"{rw}: field 'reset': kernel registers have none here (Vitis resets them to 0)")
            if off < KERNEL_USER_BASE:
                raise DefinitionError(f"{rw}: offset 0x{off:x} is below 0x{KERNEL_USER_BASE:x} "
                                      "(0x00-0x0C are the block-level control registers)")
            span, align = kernel_reg_span(r)
            if off % align:
                if "count" in r:
                    raise DefinitionError(f"{rw}: offset 0x{off:x} is not aligned to the array's {span}-byte span "
                                          f"({r['count']} x {bits} bits, rounded up to a power of two)")
                raise DefinitionError(f"{rw}: offset 0x{off:x} is not 4-byte aligned")
            for lo, hi, other in used:
                if off < hi and lo < off + span:
                    raise DefinitionError(f"{rw}: offset 0x{off:x} (0x{off:x}-0x{off + span - 1:x}) overlaps "
                                          f"'{other}' (0x{lo:x}-0x{hi - 1:x})")
            used.append((off, off + span, rname))
            r["kind"] = kind
            r["span"] = span
            r.setdefault("doc", "")
        streams = k.get("streams", [])
        if not isinstance(streams, list):
            raise DefinitionError(f"{kw}: field 'streams' must be list, got {streams!r}")
        for si, st in enumerate(streams):
            sname = need(st, "name", f"{kw}, streams[{si}]", str)
            sw = f"{kw}, stream '{sname}'"
            unknown_keys(st, KERNEL_STREAM_KEYS, sw)
            if not IDENT.match(sname):
                raise DefinitionError(f"{sw}: field 'name' must be a lower-case C identifier")
            if sname in names:
                raise DefinitionError(f"{sw}: field 'name' already used in this kernel")
            names.add(sname)
            sdir = need(st, "dir", sw, str)
            if sdir not in ("in", "out"):
                raise DefinitionError(f"{sw}: field 'dir' must be in or out, got {sdir!r}")
            sbits = need(st, "bits", sw, int)
            if sbits < 8 or sbits > KERNEL_STREAM_MAX_BITS or sbits % 8:
                raise DefinitionError(f"{sw}: field 'bits' must be a multiple of 8 in 8..{KERNEL_STREAM_MAX_BITS} "
                                      "(TDATA is whole bytes)")
        k["streams"] = streams
        # The generated names must not collide: C++ names in the kernel's namespace, macros across
        # every kernel (FANOUT_REG_A_B_C could be kernel a_b's c or kernel a's b_c).
        cxx = {n: "the namespace itself" for n in KERNEL_NAMESPACE_NAMES}
        for r in regs:
            what = f"{kw}, register '{r['name']}'"
            for ident in kernel_reg_cxx_names(r):
                if ident in cxx:
                    raise DefinitionError(f"{what}: field 'name': C++ name {ident} already declared by {cxx[ident]}")
                cxx[ident] = f"'{r['name']}'"
            macro = kernel_macro(k, r)
            if macro in macros:
                raise DefinitionError(f"{what}: field 'name': macro {macro} already defined for {macros[macro]}")
            macros[macro] = f"kernel '{name}', register '{r['name']}'"
        for st in streams:
            ident = kernel_stream_cxx_name(st)
            if ident in cxx:
                raise DefinitionError(f"{kw}, stream '{st['name']}': field 'name': C++ name {ident} already "
                                      f"declared by {cxx[ident]}")
            cxx[ident] = f"stream '{st['name']}'"
    d["kernels"] = kernels


def kernel_reg_cxx_names(r):
    if "count" in r:
        return [f"k{camel(r['name'])}Count", r["name"]]
    return [f"k{camel(r['name'])}"]


def kernel_stream_cxx_name(st):
    return f"kStream{camel(st['name'])}Bits"


def kernel_macro(k, r):
    return f"FANOUT_REG_{k['name'].upper()}_{r['name'].upper()}"


def kernel_elem_stride(r):
    """Byte distance between an s_axilite array's elements."""
    bits = r["bits"]
    if bits <= 32:
        return 1 if bits <= 8 else 2 if bits <= 16 else 4
    return 4 * ((bits + 31) // 32)


def sv(d):
    blocks = d["blocks"]
    aw = d["address_width"]
    out = []
    w = out.append
    w("// GENERATED by scripts/gen_regs.py from rtl/regs/fanout_regs.yaml. Do not edit.")
    w("//")
    w("// fanout_regs: the NIC's control/status registers behind one AXI-Lite slave (32-bit data,")
    w(f"// {aw}-bit byte addresses). A chain of blocks, each starting with type / version / next, so")
    w("// software discovers them (driver/include/fanout/regs.hpp has the same map, generated from the")
    w("// same file). rw registers drive the outputs below (reset values from the definition); ro")
    w("// registers read the inputs; per-port arrays hold P entries and read 0 past them. Reads and")
    w("// writes of unmapped offsets, and writes to read-only registers, answer SLVERR and change")
    w("// nothing. One transaction at a time: a write needs AW and W together.")
    w("`default_nettype none")
    w("")
    w("module fanout_regs #(")
    w("    parameter int P = 2  // MAC ports (1.." + str(d["max_ports"]) + ")")
    w(") (")
    w("    input  wire             clk,")
    w("    input  wire             rst,")
    w(f"    input  wire [{aw-1}:0]      s_axil_awaddr,")
    w("    input  wire             s_axil_awvalid,")
    w("    output logic            s_axil_awready,")
    w("    input  wire [31:0]      s_axil_wdata,")
    w("    input  wire [3:0]       s_axil_wstrb,")
    w("    input  wire             s_axil_wvalid,")
    w("    output logic            s_axil_wready,")
    w("    output logic [1:0]      s_axil_bresp,")
    w("    output logic            s_axil_bvalid,")
    w("    input  wire             s_axil_bready,")
    w(f"    input  wire [{aw-1}:0]      s_axil_araddr,")
    w("    input  wire             s_axil_arvalid,")
    w("    output logic            s_axil_arready,")
    w("    output logic [31:0]     s_axil_rdata,")
    w("    output logic [1:0]      s_axil_rresp,")
    w("    output logic            s_axil_rvalid,")
    w("    input  wire             s_axil_rready,")
    ports = []
    for b in blocks:
        for r in b["registers"]:
            sig = f"{b['name']}_{r['name']}"
            if r["access"] == "rw":
                ports.append(f"    output logic [{r['bits']-1}:0]  {sig},  // {r['doc']}")
            elif r["count"] > 1:
                ports.append(f"    input  wire [P*32-1:0] {sig},  // {r['doc']} (port p in bits [32p +: 32])")
            else:
                ports.append(f"    input  wire [{r['bits']-1}:0]  {sig},  // {r['doc']}")
    ports[-1] = ports[-1].replace(",  //", "   //", 1)
    out.extend(ports)
    w(");")
    w("  localparam logic [1:0] OKAY = 2'b00, SLVERR = 2'b10;")
    w("")
    w("  initial begin")
    w(f"    if (P < 1 || P > {d['max_ports']}) $fatal(1, \"fanout_regs: P must be 1..{d['max_ports']}\");")
    w("  end")
    w("")
    arrays = [(b, r) for b in blocks for r in b["registers"] if r["count"] > 1]
    if arrays:
        w("  // Per-port arrays widened to max_ports entries; entries p >= P read 0.")
        for b, r in arrays:
            sig = f"{b['name']}_{r['name']}"
            w(f"  logic [{d['max_ports']}*32-1:0] {sig}_all;")
        w("  always_comb begin")
        for b, r in arrays:
            sig = f"{b['name']}_{r['name']}"
            w(f"    {sig}_all = '0;")
            w(f"    {sig}_all[P*32-1:0] = {sig};")
        w("  end")
        w("")
    w("  // ---- read: the value at a byte address, and whether it is mapped ----")
    w(f"  function automatic logic [32:0] read_reg(input logic [{aw-1}:0] a);")
    w("    // {mapped, value}")
    w("    case (a)")
    for i, b in enumerate(blocks):
        nxt = blocks[i + 1]["base"] if i + 1 < len(blocks) else 0
        base = b["base"]
        w(f"      // block {b['name']}")
        w(f"      {aw}'h{base:03x}: read_reg = {{1'b1, 32'h{b['type']:08x}}};")
        w(f"      {aw}'h{base+4:03x}: read_reg = {{1'b1, 32'h{b['version']:08x}}};")
        w(f"      {aw}'h{base+8:03x}: read_reg = {{1'b1, 32'h{nxt:08x}}};")
        for r in b["registers"]:
            sig = f"{b['name']}_{r['name']}"
            for k in range(r["count"]):
                a = base + r["offset"] + 4 * k
                if r["count"] > 1:
                    w(f"      {aw}'h{a:03x}: read_reg = {{1'b1, {sig}_all[{32*k}+:32]}};")
                elif r["bits"] == 32:
                    w(f"      {aw}'h{a:03x}: read_reg = {{1'b1, {sig}}};")
                else:
                    w(f"      {aw}'h{a:03x}: read_reg = {{1'b1, {32-r['bits']}'h0, {sig}}};")
    w("      default: read_reg = {1'b0, 32'h0};")
    w("    endcase")
    w("  endfunction")
    w("")
    w("  // Writable: rw registers only.")
    w(f"  function automatic logic writable(input logic [{aw-1}:0] a);")
    w("    case (a)")
    rw_regs = [(b, r) for b in blocks for r in b["registers"] if r["access"] == "rw"]
    w("      " + ", ".join(f"{aw}'h{b['base']+r['offset']:03x}" for b, r in rw_regs) + ": writable = 1'b1;")
    w("      default: writable = 1'b0;")
    w("    endcase")
    w("  endfunction")
    w("")
    w("  function automatic logic [31:0] merge(input logic [31:0] old, input logic [31:0] data, input logic [3:0] strb);")
    w("    for (int i = 0; i < 4; i++) if (strb[i]) old[8*i+:8] = data[8*i+:8];")
    w("    merge = old;")
    w("  endfunction")
    w("")
    w("  wire do_write = s_axil_awvalid && s_axil_wvalid && !s_axil_bvalid;")
    w("  wire do_read = s_axil_arvalid && !s_axil_rvalid;")
    w("  assign s_axil_awready = do_write;")
    w("  assign s_axil_wready = do_write;")
    w("  assign s_axil_arready = do_read;")
    w("  wire [32:0] rd = read_reg(s_axil_araddr);")
    w("  wire [32:0] cur = read_reg(s_axil_awaddr);")
    w("  wire [31:0] wval = merge(cur[31:0], s_axil_wdata, s_axil_wstrb);")
    w("  wire unused_cur_mapped = cur[32]; // writability is decided by writable()")
    w("")
    w("  always_ff @(posedge clk) begin")
    w("    if (rst) begin")
    for b, r in rw_regs:
        w(f"      {b['name']}_{r['name']} <= {r['bits']}'d{r['reset']};")
    w("      s_axil_bvalid <= 1'b0;")
    w("      s_axil_bresp <= OKAY;")
    w("      s_axil_rvalid <= 1'b0;")
    w("      s_axil_rresp <= OKAY;")
    w("      s_axil_rdata <= 32'h0;")
    w("    end else begin")
    w("      if (s_axil_bvalid && s_axil_bready) s_axil_bvalid <= 1'b0;")
    w("      if (s_axil_rvalid && s_axil_rready) s_axil_rvalid <= 1'b0;")
    w("      if (do_write) begin")
    w("        s_axil_bvalid <= 1'b1;")
    w("        s_axil_bresp <= writable(s_axil_awaddr) ? OKAY : SLVERR;")
    w("        case (s_axil_awaddr)")
    for b, r in rw_regs:
        sig = f"{b['name']}_{r['name']}"
        w(f"          {aw}'h{b['base']+r['offset']:03x}: {sig} <= wval[{r['bits']-1}:0];")
    w("          default: ;")
    w("        endcase")
    w("      end")
    w("      if (do_read) begin")
    w("        s_axil_rvalid <= 1'b1;")
    w("        s_axil_rdata <= rd[31:0];")
    w("        s_axil_rresp <= rd[32] ? OKAY : SLVERR;")
    w("      end")
    w("    end")
    w("  end")
    w("endmodule")
    w("")
    w("`default_nettype wire")
    return "\n".join(out) + "\n"


def camel(s):
    return "".join(p.capitalize() for p in s.split("_"))


def hpp(d):
    out = []
    w = out.append
    w("// GENERATED by scripts/gen_regs.py from rtl/regs/fanout_regs.yaml. Do not edit.")
    w("//")
    w("// The NIC's register map as software sees it: byte offsets from the register space's base,")
    w("// block types and versions for discovery (walk `next` from offset 0). The RTL block")
    w("// rtl/generated/fanout_regs.sv is generated from the same definition.")
    w("#pragma once")
    w("// clang-format off")
    w("")
    w("#include <cstdint>")
    w("")
    w("namespace fanout::regs {")
    w("")
    w("// Every block starts with these, relative to its base.")
    w("inline constexpr uint32_t kBlockType = 0x00;")
    w("inline constexpr uint32_t kBlockVersion = 0x04;")
    w("inline constexpr uint32_t kBlockNext = 0x08;")
    w(f"inline constexpr uint32_t kMaxPorts = {d['max_ports']};")
    w(f"inline constexpr uint32_t kAddressWidth = {d['address_width']};")
    w("")
    w("enum class Access { kId, kReadOnly, kReadWrite };")
    w("struct RegisterInfo {")
    w("  const char *block;")
    w("  const char *name;")
    w("  uint32_t offset; // absolute byte offset (first entry of an array)")
    w("  uint32_t count;  // entries (per-port arrays), 4 bytes apart")
    w("  Access access;")
    w("  const char *doc;")
    w("};")
    table = []
    for b in d["blocks"]:
        w("")
        w(f"// {b['doc']}" if b.get("doc") else f"// block {b['name']}")
        w(f"namespace {b['name']} {{")
        w(f"inline constexpr uint32_t kBase = 0x{b['base']:03x};")
        w(f"inline constexpr uint32_t kType = 0x{b['type']:08x};")
        w(f"inline constexpr uint32_t kVersion = 0x{b['version']:08x};")
        for h in HEADER_REGS:
            table.append((b["name"], h["name"], b["base"] + h["offset"], 1, "kId", h["doc"]))
        for r in b["registers"]:
            a = b["base"] + r["offset"]
            acc = "kReadWrite" if r["access"] == "rw" else "kReadOnly"
            if r["count"] > 1:
                w(f"inline constexpr uint32_t k{camel(r['name'])}Count = {r['count']};")
                w(f"// {r['doc']}")
                w(f"inline constexpr uint32_t {r['name']}(uint32_t port) {{ return 0x{a:03x} + 4 * port; }}")
            else:
                reset = f", reset {r['reset']}" if r["access"] == "rw" else ""
                w(f"inline constexpr uint32_t k{camel(r['name'])} = 0x{a:03x}; // {r['access']}{reset}: {r['doc']}")
            table.append((b["name"], r["name"], a, r["count"], acc, r["doc"]))
        w(f"}} // namespace {b['name']}")
    w("")
    w("// Every register, in address order of each block (for dumps and consistency checks).")
    w("inline constexpr RegisterInfo kRegisters[] = {")
    for t in table:
        doc = cstr(t[5])
        w(f'    {{"{t[0]}", "{t[1]}", 0x{t[2]:03x}, {t[3]}, Access::{t[4]}, "{doc}"}},')
    w("};")
    if d["kernels"]:
        hpp_kernels(d, w)
    w("")
    w("} // namespace fanout::regs")
    return "\n".join(out) + "\n"


def cstr(text):
    return text.replace("\\", "\\\\").replace('"', '\\"')


def hpp_kernels(d, w):
    w("")
    w("// ---- HLS kernels ----")
    w("// Each kernel's own s_axilite register space (its bundle `control`, based where the platform")
    w("// puts the kernel): byte offsets from that base. The kernels' pragmas take the same offsets")
    w("// from fanout/hls/generated/kernel_regs.hpp. Scalars and addresses are one 32-bit word each")
    w("// (a 64-bit address: low word at the offset, high word 4 bytes up); arrays are s_axilite")
    w("// memories, element i at name(i).")
    w("enum class Control { kApCtrlNone, kApCtrlHs };")
    w("enum class KernelRegKind { kScalar, kArray, kMaxiAddress };")
    w("struct KernelInfo {")
    w("  const char *name;   // short name (this namespace's)")
    w("  const char *top;    // HLS top function = the kernel's name in the xclbin")
    w("  Control control;")
    w("  const char *source; // the top's file")
    w("};")
    w("struct KernelRegisterInfo {")
    w("  const char *kernel; // KernelInfo::name")
    w("  const char *name;   // the top's argument")
    w("  uint32_t offset;    // byte offset in the kernel's s_axilite space")
    w("  uint32_t count;     // array entries, 1 for a scalar")
    w("  uint32_t bits;      // the value's (an array element's) width")
    w("  uint32_t span;      // bytes reserved: data and control word, or the array's power-of-two span")
    w("  Access access;")
    w("  KernelRegKind kind;")
    w("  const char *doc;")
    w("};")
    w("struct KernelStreamInfo {")
    w("  const char *kernel;")
    w("  const char *name;   // AXI4-Stream port (an array x[N] of streams: x_0 .. x_<N-1>)")
    w("  bool input;")
    w("  uint32_t bits;      // TDATA width")
    w("};")
    control = {"ap_ctrl_none": "Control::kApCtrlNone", "ap_ctrl_hs": "Control::kApCtrlHs"}
    for k in d["kernels"]:
        w("")
        w(f"// {k['doc']}" if k["doc"] else f"// kernel {k['name']}")
        w(f"namespace {k['name']} {{")
        w(f'inline constexpr const char *kKernelName = "{k["top"]}";')
        w(f"inline constexpr Control kControl = {control[k['control']]};")
        for r in k["registers"]:
            if "count" in r:
                w(f"inline constexpr uint32_t k{camel(r['name'])}Count = {r['count']};")
                w(f"// {r['access']}, {r['count']} x {r['bits']} bits: {r['doc']}")
                w(f"inline constexpr uint32_t {r['name']}(uint32_t i) {{ return 0x{r['offset']:03x} + "
                  f"{kernel_elem_stride(r)} * i; }}")
            else:
                what = f"m_axi {r['port']} address" if r["kind"] == "m_axi" else r["access"]
                w(f"inline constexpr uint32_t k{camel(r['name'])} = 0x{r['offset']:03x}; // {what}, "
                  f"{r['bits']} bits: {r['doc']}")
        for st in k["streams"]:
            w(f"inline constexpr uint32_t {kernel_stream_cxx_name(st)} = {st['bits']}; // AXI4-Stream {st['dir']}")
        w(f"}} // namespace {k['name']}")
    w("")
    w("// Every kernel, every kernel register (in definition order), every kernel stream.")
    w("inline constexpr KernelInfo kKernels[] = {")
    for k in d["kernels"]:
        w(f'    {{"{k["name"]}", "{k["top"]}", {control[k["control"]]}, "{k["source"]}"}},')
    w("};")
    w("inline constexpr KernelRegisterInfo kKernelRegisters[] = {")
    kinds = {"s_axilite": "KernelRegKind::kScalar", "m_axi": "KernelRegKind::kMaxiAddress"}
    for k in d["kernels"]:
        for r in k["registers"]:
            kind = "KernelRegKind::kArray" if "count" in r else kinds[r["kind"]]
            acc = "Access::kReadWrite" if r["access"] == "rw" else "Access::kReadOnly"
            w(f'    {{"{k["name"]}", "{r["name"]}", 0x{r["offset"]:03x}, {r.get("count", 1)}, {r["bits"]}, '
              f'{r["span"]}, {acc}, {kind}, "{cstr(r["doc"])}"}},')
    w("};")
    w("inline constexpr KernelStreamInfo kKernelStreams[] = {")
    for k in d["kernels"]:
        for st in k["streams"]:
            w(f'    {{"{k["name"]}", "{st["name"]}", {"true" if st["dir"] == "in" else "false"}, {st["bits"]}}},')
    w("};")


def kernel_macros(d):
    out = []
    w = out.append
    w("// GENERATED by scripts/gen_regs.py from rtl/regs/fanout_regs.yaml. Do not edit.")
    w("//")
    w("// The HLS kernels' s_axilite register offsets (bundle `control`), for their INTERFACE pragmas:")
    w("//   FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = udp_port offset = FANOUT_REG_PARSER_UDP_PORT")
    w("//                     bundle = control)")
    w("// (FANOUT_HLS_PRAGMA expands the macro before it stringifies: fanout/hls/compat.hpp). Software")
    w("// reads the same map from driver/include/fanout/regs.hpp (fanout::regs::<kernel>).")
    w("//")
    w("// C++14, synthesizable subset: macros only.")
    w("#ifndef FANOUT_HLS_GENERATED_KERNEL_REGS_HPP")
    w("#define FANOUT_HLS_GENERATED_KERNEL_REGS_HPP")
    w("// clang-format off")
    for k in d["kernels"]:
        w("")
        w(f"// {k['name']}: {k['top']} ({k['control']}, {k['source']})")
        if not k["registers"]:
            w("// (no registers: streams only)")
        for r in k["registers"]:
            what = f"[{r['count']}]" if "count" in r else ""
            w(f"#define {kernel_macro(k, r)} 0x{r['offset']:02X} // {r['access']}{what}, {r['bits']} bits")
    w("")
    w("// clang-format on")
    w("#endif")
    return "\n".join(out) + "\n"


def main(argv):
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    definition = args[0] if args else os.path.join(ROOT, "rtl", "regs", "fanout_regs.yaml")
    try:
        d = load(definition)
    except (DefinitionError, yaml.YAMLError, OSError) as e:
        print(f"gen_regs: {e}", file=sys.stderr)
        return 2
    targets = {
        os.path.join(ROOT, "rtl", "generated", "fanout_regs.sv"): sv(d),
        os.path.join(ROOT, "driver", "include", "fanout", "regs.hpp"): hpp(d),
        os.path.join(ROOT, "hls", "common", "include", "fanout", "hls", "generated", "kernel_regs.hpp"):
        kernel_macros(d),
    }
    stale = []
    for path, text in targets.items():
        old = open(path).read() if os.path.exists(path) else None
        if old == text:
            continue
        if check:
            stale.append(os.path.relpath(path, ROOT))
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
    if stale:
        print("gen_regs: stale generated file(s): " + ", ".join(stale) + "; run scripts/gen_regs.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
