#!/usr/bin/env python3
"""Generate the Alveo link configurations, constraints and metadata xclbins from one design.

    scripts/gen_alveo.py [--design D] [--regs R] [--check]
    scripts/gen_alveo.py [--design D] [--regs R] --xclbin <board> <out.xclbin>
    scripts/gen_alveo.py [--design D] [--regs R] --expect <out.hpp>

Reads constraints/alveo_design.yaml (compute units, stream graph, memory and SLRs per board) and
rtl/regs/fanout_regs.yaml (the register maps: `blocks:` of the RTL shell, `kernels:` of the HLS
kernels), validates them, and writes
  constraints/<board>/link.cfg    the v++ --link configuration (committed)
  constraints/<board>/fanout.xdc  the implementation constraints the design adds (committed)
--check writes nothing and exits 1, naming the stale file, when one differs from what would be
generated (ctest alveo_generated_up_to_date).
--xclbin writes a metadata-only xclbin for one board (axlf container: IP_LAYOUT, MEM_TOPOLOGY,
CONNECTIVITY, EMBEDDED_METADATA; no BITSTREAM: XRT's noop shim does not need one, a card needs
the v++ output). --expect writes the C++ header tests/xrt compares the parsed xclbin with.
Errors name the file and the field.
"""
import argparse
import hashlib
import os
import re
import struct
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOARDS_TCL = "hls/vitis/boards.tcl"


class DesignError(Exception):
    pass


def need(obj, key, where, kind=None):
    if not isinstance(obj, dict) or key not in obj:
        raise DesignError(f"{where}: missing field '{key}'")
    v = obj[key]
    if kind is not None and not isinstance(v, kind):
        raise DesignError(f"{where}: field '{key}' must be {kind.__name__}, got {v!r}")
    return v


def rel(path):
    return os.path.relpath(path, ROOT)


# ---------------------------------------------------------------------------------------- model


class Arg:
    """One kernel argument as XRT sees it (EMBEDDED_METADATA <arg>)."""

    def __init__(self, name, kind, offset=0, size=0, port="", bits=0, direction="", mem_port=""):
        self.name = name
        self.kind = kind  # scalar | m_axi | stream
        self.offset = offset
        self.size = size
        self.port = port  # the AXI-Lite port, or the stream port
        self.bits = bits  # stream width
        self.direction = direction  # stream: in | out
        self.mem_port = mem_port  # m_axi: the master port (M_AXI_GMEM)
        self.id = -1


class Cu:
    def __init__(self, kernel, instance, control, language, where):
        self.kernel = kernel
        self.instance = instance
        self.control = control
        self.language = language
        self.where = where
        self.axilite_port = None
        self.range = 0
        self.base = None  # None: no AXI-Lite slave (free running, streams only)
        self.args = []
        self.clock_pins = ["ap_clk"]

    def streams(self):
        return {a.name: a for a in self.args if a.kind == "stream"}

    def arg(self, name):
        for a in self.args:
            if a.name == name:
                return a
        return None


def kernel_clock_mhz(design, where):
    clk = need(design, "clock", where, dict)
    path = os.path.join(ROOT, need(clk, "file", f"{where}: clock", str))
    var = need(clk, "variable", f"{where}: clock", str)
    try:
        text = open(path).read()
    except OSError as e:
        raise DesignError(f"{where}: clock: cannot read {rel(path)}: {e.strerror}")
    m = re.search(r"^\s*set\s+" + re.escape(var) + r"\s+(\d+)\s*$", text, re.M)
    if not m:
        raise DesignError(f"{where}: clock: {rel(path)} does not set '{var}'")
    return int(m.group(1))


def signature_order(source, top):
    """Parameter names of `extern "C" void <top>(...)` in order (arrays of N streams expand to
    name[N]), or None when the source or the function is not there yet."""
    path = os.path.join(ROOT, source)
    if not os.path.exists(path):
        return None
    text = re.sub(r"//[^\n]*|/\*.*?\*/", " ", open(path).read(), flags=re.S)
    m = re.search(r'extern\s+"C"\s+void\s+' + re.escape(top) + r"\s*\(", text)
    if not m:
        return None
    depth, i, params, cur = 1, m.end(), [], ""
    while i < len(text) and depth:
        c = text[i]
        if c in "(<[":
            depth += 1
        elif c in ")>]":
            depth -= 1
        if depth == 1 and c == ",":
            params.append(cur)
            cur = ""
        elif depth:
            cur += c
        i += 1
    params.append(cur)
    names = []
    for p in params:
        p = p.split("=")[0].strip()
        pm = re.search(r"([A-Za-z_]\w*)\s*(\[\s*(\w+)\s*\])?\s*$", p)
        if pm:
            names.append((pm.group(1), pm.group(3)))
    return names


def order_args(args, order):
    """Arguments in the kernel function's order (ids are what xrt::run::set_arg takes)."""
    if not order:
        return args
    by_name = {a.name: a for a in args}
    out = []
    for name, dim in order:
        if name in by_name:
            out.append(by_name.pop(name))
        else:  # an array of streams: name_0, name_1, ...
            i = 0
            while f"{name}_{i}" in by_name:
                out.append(by_name.pop(f"{name}_{i}"))
                i += 1
    return out + [a for a in args if a.name in by_name]


def pow2_at_least(n, floor):
    r = floor
    while r < n:
        r *= 2
    return r


def rtl_shell_args(regs, cu, where):
    """The shell's registers (the `blocks:` chain) and its packaged AXI4-Stream interfaces."""
    args = []
    rwhere = rel(regs["_path"])
    for bi, b in enumerate(need(regs, "blocks", rwhere, list)):
        bname = need(b, "name", f"{rwhere}: blocks[{bi}]", str)
        base = need(b, "base", f"{rwhere}: block '{bname}'", int)
        for h, off in (("type", 0), ("version", 4), ("next", 8)):
            args.append(Arg(f"{bname}_{h}", "scalar", base + off, 4))
        for r in need(b, "registers", f"{rwhere}: block '{bname}'", list):
            rname = need(r, "name", f"{rwhere}: block '{bname}'", str)
            off = need(r, "offset", f"{rwhere}: block '{bname}', register '{rname}'", int)
            args.append(Arg(f"{bname}_{rname}", "scalar", base + off, 4 * r.get("count", 1)))
    ports = need(cu, "ports", where, int)
    for si, s in enumerate(need(cu, "streams", where, list)):
        sw = f"{where}: streams[{si}]"
        name = need(s, "name", sw, str)
        d = need(s, "dir", sw, str)
        if d not in ("in", "out"):
            raise DesignError(f"{sw}: field 'dir' must be in or out, got {d!r}")
        bits = need(s, "bits", sw, int)
        prefix = ("s_axis_" if d == "in" else "m_axis_") + name
        names = [f"{prefix}_{p}" for p in range(ports)] if s.get("per_port") else [prefix]
        for n in names:
            args.append(Arg(n, "stream", port=n, bits=bits, direction=d))
    return args


def hls_kernel_args(entry, where):
    """Registers (s_axilite offsets, m_axi pointers) and streams of a `kernels:` entry."""
    args = []
    for ri, r in enumerate(need(entry, "registers", where, list)):
        rw = f"{where}, registers[{ri}]"
        name = need(r, "name", rw, str)
        rw = f"{where}, register '{name}'"
        off = need(r, "offset", rw, int)
        bits = r.get("bits", 32)
        count = r.get("count", 1)
        if not isinstance(bits, int) or bits < 1 or bits > 64:
            raise DesignError(f"{rw}: field 'bits' must be 1..64, got {bits!r}")
        if not isinstance(count, int) or count < 1:
            raise DesignError(f"{rw}: field 'count' must be a positive integer, got {count!r}")
        size = 4 * count if count > 1 else (8 if bits > 32 else 4)
        if r.get("kind", "scalar") == "m_axi":
            port = need(r, "port", rw, str)
            args.append(Arg(name, "m_axi", off, 8, mem_port="M_AXI_" + port.upper()))
        elif r.get("kind", "scalar") == "scalar":
            args.append(Arg(name, "scalar", off, size))
        else:
            raise DesignError(f"{rw}: field 'kind' must be scalar or m_axi, got {r['kind']!r}")
    for si, s in enumerate(entry.get("streams", []) or []):
        sw = f"{where}, streams[{si}]"
        name = need(s, "name", sw, str)
        d = need(s, "dir", sw, str)
        if d not in ("in", "out"):
            raise DesignError(f"{sw}: field 'dir' must be in or out, got {d!r}")
        bits = need(s, "bits", sw, int)
        count = s.get("count", 1)
        for n in [f"{name}_{i}" for i in range(count)] if count > 1 else [name]:
            args.append(Arg(n, "stream", port=n, bits=bits, direction=d))
    return args


def load(design_path, regs_path):
    where = rel(design_path)
    with open(design_path) as f:
        design = yaml.safe_load(f)
    with open(regs_path) as f:
        regs = yaml.safe_load(f)
    regs["_path"] = regs_path
    rwhere = rel(regs_path)
    kernels = {}
    for ki, k in enumerate(regs.get("kernels", []) or []):
        kname = need(k, "name", f"{rwhere}: kernels[{ki}]", str)
        kernels[kname] = k

    mhz = kernel_clock_mhz(design, where)
    cu_base = need(design, "cu_base", where, int)
    stride = need(design, "cu_stride", where, int)
    cus = []
    seen = set()
    width_refs = []
    for ci, c in enumerate(need(design, "cus", where, list)):
        cw = f"{where}: cus[{ci}]"
        kernel = need(c, "kernel", cw, str)
        inst = need(c, "instance", cw, str)
        cw = f"{where}: cu '{inst}'"
        if inst in seen:
            raise DesignError(f"{cw}: field 'instance' repeats an earlier CU's name")
        seen.add(inst)
        regs_ref = c.get("regs")
        if regs_ref is not None and regs_ref != "rtl":
            if regs_ref not in kernels:
                raise DesignError(
                    f"{cw}: field 'regs': no kernel '{regs_ref}' in the kernels: section of {rwhere} "
                    f"(known: {', '.join(sorted(kernels)) or 'none'})")
            entry = kernels[regs_ref]
            kw = f"{rwhere}: kernel '{regs_ref}'"
            top = need(entry, "top", kw, str)
            if top != kernel:
                raise DesignError(f"{cw}: field 'kernel' is {kernel!r} but {kw} has top {top!r}")
            control = need(entry, "control", kw, str)
            cu = Cu(kernel, inst, control, "hls", cw)
            cu.args = hls_kernel_args(entry, kw)
            cu.args = order_args(cu.args, signature_order(need(entry, "source", kw, str), top))
            # A free-running kernel without registers (streams only) has no AXI-Lite slave, hence
            # no base address; a started one always has its control block.
            if control != "ap_ctrl_none" or any(a.kind != "stream" for a in cu.args):
                cu.axilite_port = "S_AXI_CONTROL"
                end = max([a.offset + a.size for a in cu.args if a.kind != "stream"] + [0x10])
                cu.range = pow2_at_least(end, 0x1000)
        else:
            control = need(c, "control", cw, str)
            cu = Cu(kernel, inst, control, need(c, "language", cw, str), cw)
            if regs_ref == "rtl":
                cu.args = rtl_shell_args(regs, c, cw)
            else:
                for ri, r in enumerate(c.get("registers", []) or []):
                    rw = f"{cw}, registers[{ri}]"
                    cu.args.append(Arg(need(r, "name", rw, str), "scalar", need(r, "offset", rw, int),
                                       need(r, "bytes", rw, int)))
                for si, s in enumerate(need(c, "streams", cw, list)):
                    sw = f"{cw}, streams[{si}]"
                    d = need(s, "dir", sw, str)
                    if d not in ("in", "out"):
                        raise DesignError(f"{sw}: field 'dir' must be in or out, got {d!r}")
                    a = Arg(need(s, "name", sw, str), "stream", port=s["name"], direction=d)
                    if "width_of" in s:
                        width_refs.append((a, need(s, "width_of", sw, str), sw))
                    else:
                        a.bits = need(s, "bits", sw, int)
                    cu.args.append(a)
            if "axilite" in c:
                ax = need(c, "axilite", cw, dict)
                cu.axilite_port = need(ax, "port", f"{cw}: axilite", str)
                cu.range = need(ax, "range", f"{cw}: axilite", int)
            cu.clock_pins = c.get("clock_pins", ["ap_clk"])
        if control not in ("ap_ctrl_none", "ap_ctrl_hs"):
            raise DesignError(f"{cw}: control must be ap_ctrl_none or ap_ctrl_hs, got {control!r}")
        names = [a.name for a in cu.args]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise DesignError(f"{cw}: argument(s) {', '.join(dup)} defined twice")
        for i, a in enumerate(cu.args):
            a.id = i
        cus.append(cu)

    by_inst = {cu.instance: cu for cu in cus}

    def endpoint(text, field, lw):
        if not isinstance(text, str) or "." not in text:
            raise DesignError(f"{lw}: field '{field}' must be <instance>.<port>, got {text!r}")
        inst, port = text.split(".", 1)
        if inst not in by_inst:
            raise DesignError(f"{lw}: field '{field}': unknown CU '{inst}' (known: {', '.join(by_inst)})")
        a = by_inst[inst].streams().get(port)
        if a is None:
            raise DesignError(f"{lw}: field '{field}': CU '{inst}' ({by_inst[inst].kernel}) has no stream "
                              f"port '{port}' (it has: {', '.join(by_inst[inst].streams())})")
        return by_inst[inst], a

    for a, ref, sw in width_refs:
        _, target = endpoint(ref, "width_of", sw)
        a.bits = target.bits

    # Addresses: in listed order, 64 KiB apart; no overlap, every register inside its CU's range.
    index = 0
    for cu in cus:
        if cu.axilite_port is None:
            continue
        cu.base = cu_base + index * stride
        index += 1
        if cu.range > stride:
            raise DesignError(f"{cu.where}: AXI-Lite range 0x{cu.range:x} overlaps the next CU "
                              f"(cu_stride 0x{stride:x})")
        for a in cu.args:
            if a.kind != "stream" and a.offset + a.size > cu.range:
                raise DesignError(f"{cu.where}: argument '{a.name}' at 0x{a.offset:x} (+{a.size}) lies "
                                  f"outside the CU's range 0x{cu.range:x}")
    spans = sorted((cu.base, cu.base + cu.range, cu) for cu in cus if cu.base is not None)
    for (b0, e0, c0), (b1, e1, c1) in zip(spans, spans[1:]):
        if b1 < e0:
            raise DesignError(f"{c1.where}: address range 0x{b1:x}.. overlaps CU '{c0.instance}' "
                              f"(0x{b0:x}..0x{e0:x})")

    # The stream graph: every stream port connected exactly once, out to in, widths equal.
    links = []
    used = {}
    for gi, g in enumerate(need(design, "streams", where, list)):
        gw = f"{where}: streams[{gi}]"
        group = need(g, "group", gw, str)
        for li, l in enumerate(need(g, "links", gw, list)):
            lw = f"{where}: streams group '{group}', links[{li}]"
            src_cu, src = endpoint(need(l, "from", lw), "from", lw)
            dst_cu, dst = endpoint(need(l, "to", lw), "to", lw)
            if src.direction != "out":
                raise DesignError(f"{lw}: field 'from': {l['from']} is an input stream")
            if dst.direction != "in":
                raise DesignError(f"{lw}: field 'to': {l['to']} is an output stream")
            if src.bits != dst.bits:
                raise DesignError(f"{lw}: width mismatch: {l['from']} is {src.bits} bits, "
                                  f"{l['to']} is {dst.bits} bits")
            for end, field in ((l["from"], "from"), (l["to"], "to")):
                if end in used:
                    raise DesignError(f"{lw}: field '{field}': {end} is already connected ({used[end]})")
                used[end] = lw
            depth = l.get("depth")
            if depth is not None and (not isinstance(depth, int) or depth < 2):
                raise DesignError(f"{lw}: field 'depth' must be an integer >= 2, got {depth!r}")
            links.append((group, l["from"], l["to"], depth))
    for cu in cus:
        for a in cu.streams().values():
            if f"{cu.instance}.{a.name}" not in used:
                raise DesignError(f"{where}: streams: {cu.instance}.{a.name} ({cu.kernel}, "
                                  f"{'input' if a.direction == 'in' else 'output'}) is never connected")

    boards = {}
    for bname, b in need(design, "boards", where, dict).items():
        bw = f"{where}: boards.{bname}"
        platform = need(b, "platform", bw, str)
        if len(platform) >= 64:
            raise DesignError(f"{bw}: field 'platform' is longer than the xclbin's 63 characters")
        mems = []
        for mi, m in enumerate(need(b, "memory", bw, list)):
            mw = f"{bw}.memory[{mi}]"
            tag = need(m, "tag", mw, str)
            mtype = need(m, "type", mw, str)
            if mtype not in MEM_TYPES:
                raise DesignError(f"{mw}: field 'type' must be one of {', '.join(MEM_TYPES)}, got {mtype!r}")
            mems.append((tag, mtype, need(m, "base", mw, int), need(m, "size_kb", mw, int)))
        tags = [m[0] for m in mems]
        sp = []
        for key, tag in need(b, "sp", bw, dict).items():
            spw = f"{bw}.sp.{key}"
            inst, _, argname = key.partition(".")
            if inst not in by_inst:
                raise DesignError(f"{spw}: unknown CU '{inst}'")
            a = by_inst[inst].arg(argname)
            if a is None or a.kind != "m_axi":
                raise DesignError(f"{spw}: CU '{inst}' has no m_axi argument '{argname}'")
            if tag not in tags:
                raise DesignError(f"{spw}: bank '{tag}' is not in {bw}.memory ({', '.join(tags)})")
            sp.append((inst, argname, tag))
        for cu in cus:
            for a in cu.args:
                if a.kind == "m_axi" and (cu.instance, a.name, ) not in [(s[0], s[1]) for s in sp]:
                    raise DesignError(f"{bw}.sp: no bank for {cu.instance}.{a.name} (an m_axi pointer)")
        slr = need(b, "slr", bw, dict)
        for inst, s in slr.items():
            if inst not in by_inst:
                raise DesignError(f"{bw}.slr.{inst}: unknown CU")
            if not isinstance(s, str) or not re.fullmatch(r"SLR[0-3]", s):
                raise DesignError(f"{bw}.slr.{inst}: must be SLR0..SLR3, got {s!r}")
        for cu in cus:
            if cu.instance not in slr:
                raise DesignError(f"{bw}.slr: no SLR for CU '{cu.instance}'")
        boards[bname] = {"platform": platform, "memory": mems, "sp": sp, "slr": slr}
    return {"cus": cus, "links": links, "boards": boards, "mhz": mhz, "name": need(design, "name", where, str)}


# ------------------------------------------------------------------------- link.cfg, fanout.xdc


def link_cfg(model, board):
    b = model["boards"][board]
    hz = model["mhz"] * 1000000
    out = [
        f"# v++ --link configuration of the Fanout NIC for {board} ({b['platform']}).",
        "# GENERATED by scripts/gen_alveo.py from constraints/alveo_design.yaml; do not edit.",
        f"#   v++ --link -t hw --platform {b['platform']} --config constraints/{board}/link.cfg \\",
        "#       --vivado.prop run.impl_1.STEPS.OPT_DESIGN.TCL.PRE=<repo>/constraints/" + board + "/fanout.xdc \\",
        "#       <the kernels' .xo files> -o fanout_" + board + ".xclbin",
        f"# (cmake --build <build> --target xclbin_{board} runs it; docs/alveo.md).",
        "",
        "[connectivity]",
        "# Compute units, one each: nk=<kernel>:<count>:<instance>",
    ]
    for cu in model["cus"]:
        out.append(f"nk={cu.kernel}:1:{cu.instance}")
    out += ["", "# Stream graph, every AXI4-Stream port once: stream_connect=<cu>.<port>:<cu>.<port>[:<FIFO depth>]"]
    group = None
    for g, src, dst, depth in model["links"]:
        if g != group:
            out.append(f"# {g}")
            group = g
        out.append(f"stream_connect={src}:{dst}" + (f":{depth}" if depth else ""))
    out += ["", "# Memory of the data movers' m_axi pointers: sp=<cu>.<argument>:<bank>"]
    for inst, arg, tag in b["sp"]:
        out.append(f"sp={inst}.{arg}:{tag}")
    out += ["", "# Placement (the CMACs next to their QSFP transceivers, the data movers next to their memory): slr=<cu>:<SLR>"]
    for cu in model["cus"]:
        out.append(f"slr={cu.instance}:{b['slr'][cu.instance]}")
    out += ["", "[clock]",
            f"# Every kernel clock pin at {model['mhz']} MHz (hls/vitis/boards.tcl): freqHz=<Hz>:<cu>[.<clock pin>]"]
    for cu in model["cus"]:
        if cu.clock_pins == ["ap_clk"]:
            out.append(f"freqHz={hz}:{cu.instance}")
        else:
            for pin in cu.clock_pins:
                out.append(f"freqHz={hz}:{cu.instance}.{pin}")
    return "\n".join(out) + "\n"


def fanout_xdc(model, board):
    b = model["boards"][board]
    period = 1000.0 / model["mhz"]
    shell = next(cu for cu in model["cus"] if cu.kernel == "fanout_shell").instance
    cells = "[get_cells -hierarchical -filter {NAME =~ *%s/*u_fifo/%s}]"
    out = [
        f"# Constraints the Fanout design adds to the {board} platform ({b['platform']}).",
        "# GENERATED by scripts/gen_alveo.py from constraints/alveo_design.yaml; do not edit.",
        "# Implementation only: v++ sources this file before opt_design through",
        "#   --vivado.prop run.impl_1.STEPS.OPT_DESIGN.TCL.PRE=<this file>",
        "# (UG949 / UG1387 \"Specifying Constraints for the Vitis Environment\": after packaging, extra",
        "# XDC goes in through the implementation steps' Tcl hooks). Every command has its reason above it.",
        "#",
        "# Placement is by slr= in link.cfg (v++ writes the pblocks); nothing here places cells. The",
        "# CMAC kernels carry their own constraints (xup_vitis_network_example Ethernet/cmac/constraints)",
        "# for their 322 MHz domain; their streams are on the kernel clock.",
        "",
        f"# The shell's axis_async_fifo instances (rtl/axis_async_fifo.sv) cross between its ap_clk (clk) and",
        f"# ap_clk_2 (mac_clk) pins, here both {model['mhz']} MHz. Each pointer crosses in Gray code into a",
        "# two-flop synchronizer (ASYNC_REG): its path into the first flop is a crossing, not a timed",
        "# synchronous path, but must stay shorter than one kernel clock period",
        f"# ({period:.3f} ns) so the far side never sees two steps at once.",
        "# Write pointer (writer's clock) into the reader's first synchronizer flop:",
        "set_max_delay -datapath_only -from " + cells % (shell, "wr_gray_reg*") +
        " -to " + cells % (shell, "wr_gray_s1_reg*") + f" {period:.3f}",
        "# Read pointer (reader's clock) into the writer's first synchronizer flop:",
        "set_max_delay -datapath_only -from " + cells % (shell, "rd_gray_reg*") +
        " -to " + cells % (shell, "rd_gray_s1_reg*") + f" {period:.3f}",
        "# The FIFO storage is read in the reader's domain two clocks after the pointer crossing at the",
        "# earliest; with both pins on the one kernel clock that path is timed as a synchronous one. If",
        "# ap_clk_2 is ever fed from an unrelated clock, give the storage the same -datapath_only bound.",
        "# mac_link_up: the xup CMAC kernel has no link-status output (its status is the stat_rx_status",
        "# register), so the packaged shell ties it high and no constraint is needed for its synchronizer.",
    ]
    return "\n".join(out) + "\n"


def outputs(model):
    files = {}
    for board in model["boards"]:
        files[os.path.join(ROOT, "constraints", board, "link.cfg")] = link_cfg(model, board)
        files[os.path.join(ROOT, "constraints", board, "fanout.xdc")] = fanout_xdc(model, board)
    return files


# ---------------------------------------------------------------------------------------- xclbin
# Layout exactly as /usr/include/xrt/xclbin.h (XRT 2.13); sizes asserted below.

BITSTREAM, EMBEDDED_METADATA, MEM_TOPOLOGY, CONNECTIVITY, IP_LAYOUT = 0, 2, 6, 7, 8
MEM_TYPES = {"ddr4": 1, "dram": 2, "hbm": 6}  # enum MEM_TYPE: MEM_DDR4, MEM_DRAM, MEM_HBM
IP_KERNEL = 1  # enum IP_TYPE
CONTROL = {"ap_ctrl_hs": 0, "ap_ctrl_none": 2}  # enum IP_CONTROL
IP_CONTROL_SHIFT = 8
XCLBIN_PR = 1  # enum XCLBIN_MODE: a dynamic region of a DFX platform

AXLF_HEADER = struct.Struct("<QQQHBBHH16s64s16s16sI4x")  # struct axlf_header
AXLF = struct.Struct("<8si28s256sQ")  # struct axlf up to m_header, then m_header and m_sections[1]
SECTION_HEADER = struct.Struct("<I16s4xQQ")  # struct axlf_section_header
IP_DATA = struct.Struct("<IIQ64s")  # struct ip_data
MEM_DATA = struct.Struct("<BB6sQQ16s")  # struct mem_data
CONNECTION = struct.Struct("<iii")  # struct connection
assert AXLF_HEADER.size == 152, AXLF_HEADER.size
assert SECTION_HEADER.size == 40
assert AXLF.size + AXLF_HEADER.size + SECTION_HEADER.size == 496  # sizeof(struct axlf)
assert IP_DATA.size == 80
assert MEM_DATA.size == 40
assert CONNECTION.size == 12


def xml_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def ip_layout_order(model):
    """CUs sorted by base address (ip_layout's rule); stream-only CUs (no address) last."""
    cus = [cu for cu in model["cus"]]
    return sorted(cus, key=lambda cu: (cu.base is None, cu.base or 0, cu.instance))


def embedded_metadata(model, board):
    b = model["boards"][board]
    mhz = model["mhz"]
    L = ['<?xml version="1.0" encoding="UTF-8"?>',
         f'<project name="{model["name"]}">',
         f'  <platform vendor="xilinx" boardid="{board}" name="{b["platform"]}" featureRomTime="0">',
         '    <version major="1" minor="0"/>',
         '    <description/>',
         f'    <device name="fpga0" fpgaDevice="{board}" addrWidth="0">',
         f'      <core name="OCL_REGION_0" target="hw" type="clc_region" clockFreq="{mhz}MHz" '
         f'numComputeUnits="{len(model["cus"])}">',
         '        <kernelClocks>',
         f'          <clock port="KERNEL_CLK" frequency="{mhz}.0MHz"/>',
         f'          <clock port="DATA_CLK" frequency="{mhz}.0MHz"/>',
         '        </kernelClocks>']
    for cu in model["cus"]:
        lang = "c" if cu.language == "hls" else "ip_c"
        hs = cu.control == "ap_ctrl_hs"
        L.append(f'        <kernel name="{cu.kernel}" language="{lang}" vlnv="xilinx.com:{cu.language}:{cu.kernel}:1.0" '
                 f'attributes="" preferredWorkGroupSizeMultiple="0" workGroupSize="1" '
                 f'interrupt="{"true" if hs else "false"}" hwControlProtocol="{cu.control}">')
        if cu.axilite_port:
            L.append(f'          <port name="{cu.axilite_port}" mode="slave" range="0x{cu.range:X}" dataWidth="32" '
                     f'portType="addressable" base="0x0"/>')
        for mp in sorted({a.mem_port for a in cu.args if a.kind == "m_axi"}):
            L.append(f'          <port name="{mp}" mode="master" range="0xFFFFFFFFFFFFFFFF" dataWidth="512" '
                     f'portType="addressable" base="0x0"/>')
        for a in cu.args:
            if a.kind == "stream":
                mode = "read_only" if a.direction == "in" else "write_only"
                L.append(f'          <port name="{a.port}" mode="{mode}" range="" dataWidth="{a.bits}" portType="stream"/>')
        for a in cu.args:
            if a.kind == "stream":
                t = xml_escape(f"stream<ap_axiu<{a.bits},0,0,0>>&")
                L.append(f'          <arg name="{a.name}" addressQualifier="4" id="{a.id}" port="{a.port}" size="0x0" '
                         f'offset="0x0" hostOffset="0x0" hostSize="0x0" memSize="0" type="{t}"/>')
            elif a.kind == "m_axi":
                L.append(f'          <arg name="{a.name}" addressQualifier="1" id="{a.id}" port="{a.mem_port}" '
                         f'size="0x8" offset="0x{a.offset:X}" hostOffset="0x0" hostSize="0x8" type="void*"/>')
            else:
                t = "uint" if a.size <= 8 else "uint*"
                L.append(f'          <arg name="{a.name}" addressQualifier="0" id="{a.id}" port="{cu.axilite_port}" '
                         f'size="0x{a.size:X}" offset="0x{a.offset:X}" hostOffset="0x0" hostSize="0x{a.size:X}" '
                         f'type="{t}"/>')
        L.append(f'          <instance name="{cu.instance}">')
        if cu.base is not None:
            L.append(f'            <addrRemap base="0x{cu.base:X}" range="0x{cu.range:X}" port="{cu.axilite_port}"/>')
        L.append('          </instance>')
        L.append('        </kernel>')
    L += ['      </core>', '    </device>', '  </platform>', '</project>']
    return ("\n".join(L) + "\n").encode()


def xclbin(model, board):
    b = model["boards"][board]
    cus = ip_layout_order(model)
    ips = b"".join(
        IP_DATA.pack(IP_KERNEL, CONTROL[cu.control] << IP_CONTROL_SHIFT,
                     cu.base if cu.base is not None else 0xFFFFFFFFFFFFFFFF,
                     f"{cu.kernel}:{cu.instance}".encode())
        for cu in cus)
    ip_layout = struct.pack("<i4x", len(cus)) + ips  # struct ip_layout: m_count, then 8-aligned ip_data
    mems = b["memory"]
    mem_topology = struct.pack("<i4x", len(mems)) + b"".join(
        MEM_DATA.pack(MEM_TYPES[t], 1, b"", size_kb, base, tag.encode()) for tag, t, base, size_kb in mems)
    tags = [m[0] for m in mems]
    conns = []
    for ipi, cu in enumerate(cus):
        for inst, argname, tag in b["sp"]:
            if inst == cu.instance:
                conns.append(CONNECTION.pack(cu.arg(argname).id, ipi, tags.index(tag)))
    connectivity = struct.pack("<i", len(conns)) + b"".join(conns)
    sections = [(EMBEDDED_METADATA, "EMBEDDED_METADATA", embedded_metadata(model, board)),
                (MEM_TOPOLOGY, "MEM_TOPOLOGY", mem_topology),
                (CONNECTIVITY, "CONNECTIVITY", connectivity),
                (IP_LAYOUT, "IP_LAYOUT", ip_layout)]
    # No BITSTREAM section: XRT's noop shim loads the metadata without one; a card needs v++'s xclbin.
    digest = hashlib.sha256(b["platform"].encode() + b"".join(s[2] for s in sections)).digest()
    uuid = bytearray(digest[:16])
    uuid[6] = (uuid[6] & 0x0F) | 0x50  # RFC 4122 layout, name-based (deterministic from the content)
    uuid[8] = (uuid[8] & 0x3F) | 0x80
    nsec = len(sections)
    head = AXLF.size + AXLF_HEADER.size + SECTION_HEADER.size * nsec
    offset = (head + 7) & ~7
    headers, body = [], b""
    for kind, name, data in sections:
        pad = (-(offset + len(body))) % 8
        body += b"\0" * pad
        headers.append(SECTION_HEADER.pack(kind, name.encode(), offset + len(body), len(data)))
        body += data
    total = offset + len(body)
    header = AXLF_HEADER.pack(total, 0, 0, 0, 2, 1, XCLBIN_PR, 0, b"\0" * 16, b["platform"].encode(),
                              bytes(uuid), b"", nsec)
    top = AXLF.pack(b"xclbin2", -1, b"\xff" * 28, b"\xff" * 256, int.from_bytes(digest[16:24], "little"))
    blob = top + header + b"".join(headers)
    blob += b"\0" * (offset - len(blob))
    return blob + body


def expect_header(model):
    """What tests/xrt/test_xclbin_metadata.cpp checks the parsed xclbins against."""
    L = ["// GENERATED by scripts/gen_alveo.py from constraints/alveo_design.yaml and",
         "// rtl/regs/fanout_regs.yaml: what each metadata xclbin holds. Do not edit.",
         "#pragma once", "#include <cstdint>", "", "namespace fanout::alveo_expect {", "",
         "struct Arg { const char *name; uint32_t id; uint64_t offset; uint64_t size; bool stream; bool m_axi; };",
         "struct Cu { const char *kernel; const char *instance; uint64_t base; bool has_base; bool hs; "
         "const Arg *args; uint32_t nargs; };",
         "struct Board { const char *name; const char *platform; const char *h2c_bank; const char *c2h_bank; };", ""]
    for i, cu in enumerate(model["cus"]):
        L.append(f"inline constexpr Arg kArgs{i}[] = {{")
        for a in cu.args:
            L.append(f'    {{"{a.name}", {a.id}, 0x{a.offset:x}, {a.size}, {str(a.kind == "stream").lower()}, '
                     f'{str(a.kind == "m_axi").lower()}}},')
        L.append("};")
    L.append("inline constexpr Cu kCus[] = {")
    for i, cu in enumerate(model["cus"]):
        L.append(f'    {{"{cu.kernel}", "{cu.instance}", 0x{cu.base or 0:x}, {str(cu.base is not None).lower()}, '
                 f'{str(cu.control == "ap_ctrl_hs").lower()}, kArgs{i}, {len(cu.args)}}},')
    L.append("};")
    L.append("inline constexpr Board kBoards[] = {")
    for name, b in model["boards"].items():
        sp = {(inst, arg): tag for inst, arg, tag in b["sp"]}
        L.append(f'    {{"{name}", "{b["platform"]}", "{sp.get(("fanout_h2c_1", "src"), "")}", '
                 f'"{sp.get(("fanout_c2h_1", "dst"), "")}"}},')
    L += ["};", "", "} // namespace fanout::alveo_expect"]
    return "\n".join(L) + "\n"


# ------------------------------------------------------------------------------------------ main


def write_if_changed(path, data):
    mode = "wb" if isinstance(data, bytes) else "w"
    old = None
    if os.path.exists(path):
        with open(path, "rb" if mode == "wb" else "r") as f:
            old = f.read()
    if old != data:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, mode) as f:
            f.write(data)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--design", default=os.path.join(ROOT, "constraints", "alveo_design.yaml"))
    ap.add_argument("--regs", default=os.path.join(ROOT, "rtl", "regs", "fanout_regs.yaml"))
    ap.add_argument("--check", action="store_true", help="fail when a committed file is stale")
    ap.add_argument("--xclbin", nargs=2, metavar=("BOARD", "OUT"), help="write a metadata-only xclbin")
    ap.add_argument("--expect", metavar="OUT", help="write the C++ expectations header of tests/xrt")
    args = ap.parse_args(argv)
    try:
        model = load(os.path.abspath(args.design), os.path.abspath(args.regs))
        if args.xclbin:
            board, out = args.xclbin
            if board not in model["boards"]:
                raise DesignError(f"--xclbin: unknown board '{board}' (known: {', '.join(model['boards'])})")
            write_if_changed(out, xclbin(model, board))
            return 0
        if args.expect:
            write_if_changed(args.expect, expect_header(model))
            return 0
        files = outputs(model)
    except DesignError as e:
        print(f"gen_alveo.py: {e}", file=sys.stderr)
        return 2
    except (OSError, yaml.YAMLError) as e:
        print(f"gen_alveo.py: {e}", file=sys.stderr)
        return 2
    stale = []
    for path, text in files.items():
        old = open(path).read() if os.path.exists(path) else None
        if old != text:
            stale.append(path)
            if not args.check:
                write_if_changed(path, text)
    if args.check and stale:
        for p in stale:
            print(f"gen_alveo.py: {rel(p)} is stale; run scripts/gen_alveo.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
