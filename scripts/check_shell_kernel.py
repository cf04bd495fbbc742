#!/usr/bin/env python3
"""Check the packaged RTL shell against the Alveo design (ctest alveo_shell_kernel_consistent).

    scripts/check_shell_kernel.py [--design D] [--regs R] [--kernel-xml K] [--wrapper W] [--top T]
    scripts/check_shell_kernel.py --self-test

The contract is the fanout_shell CU as scripts/gen_alveo.py reads constraints/alveo_design.yaml
and rtl/regs/fanout_regs.yaml (what link.cfg's stream_connect lines and the metadata xclbins use):
  * rtl/alveo/kernel.xml (what v++ reads): kernel name and control protocol; s_axi_control with the
    CU's range; every stream port of the CU with its width and direction (read_only = the shell
    reads it) and nothing else; every argument (the register blocks' registers, the streams) with
    gen_alveo.py's id, offset and size.
  * rtl/alveo/fanout_shell_kernel.sv (the wrapper's ANSI port list): the CU's clock pins and their
    resets (ap_clk/ap_rst_n, ap_clk_2/ap_rst_n_2); s_axi_control_* with an address as wide as the
    range; per stream <port>_tdata/_tvalid/_tready with the CU's width and direction and exactly the
    sidebands rtl/fanout_nic_top.sv has on that bus (TKEEP data/8, TLAST 1, TUSER and TDEST as
    hls/common/include/fanout/hls/axis.hpp); no port outside these interfaces (Vitis refuses them).
Every disagreement is printed, naming the file and the port or argument; exit 1 if any.
--self-test breaks the inputs in memory one way at a time and fails unless each is caught.
"""
import argparse
import copy
import math
import os
import re
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_alveo  # noqa: E402  (the design model: the contract)

ROOT = gen_alveo.ROOT
KERNEL = "fanout_shell"
AXIS_HPP = "hls/common/include/fanout/hls/axis.hpp"
# AXI4-Lite slave signals: name -> (direction as seen by the kernel, width; None = address width)
AXILITE = {
    "awaddr": ("input", None), "awvalid": ("input", 1), "awready": ("output", 1),
    "wdata": ("input", 32), "wstrb": ("input", 4), "wvalid": ("input", 1), "wready": ("output", 1),
    "bresp": ("output", 2), "bvalid": ("output", 1), "bready": ("input", 1),
    "araddr": ("input", None), "arvalid": ("input", 1), "arready": ("output", 1),
    "rdata": ("output", 32), "rresp": ("output", 2), "rvalid": ("output", 1), "rready": ("input", 1),
}
PORT_RE = re.compile(r"^\s*(input|output)\s+(?:wire|logic)?\s*(?:\[\s*(\d+)\s*:\s*0\s*\])?\s*(\w+)\s*,?\s*(?://.*)?$")
TOP_PORT_RE = re.compile(r"^\s*(input|output)\s+(?:wire|logic)\s*(?:\[[^\]]*\])?\s*(\w+)\s*,?", re.M)


def read(path):
    with open(path) as f:
        return f.read()


def shell_cu(design, regs):
    model = gen_alveo.load(design, regs)
    cus = [cu for cu in model["cus"] if cu.kernel == KERNEL]
    if len(cus) != 1:
        raise gen_alveo.DesignError(f"{gen_alveo.rel(design)}: expected one CU of kernel {KERNEL}, found {len(cus)}")
    return cus[0]


def axis_sideband_bits(text):
    """TUSER and TDEST widths of the kernels' stream word (axis.hpp)."""
    out = {}
    for key, const in (("tuser", "kAxisUserBits"), ("tdest", "kAxisDestBits")):
        m = re.search(r"\b" + const + r"\s*=\s*(\d+)", text)
        if not m:
            raise gen_alveo.DesignError(f"{AXIS_HPP}: no {const}")
        out[key] = int(m.group(1))
    return out


def wrapper_ports(text, where):
    """name -> (direction, width) from the module's ANSI header; unparsable lines are errors."""
    m = re.search(r"\bmodule\s+(\w+)\s*(?:#\s*\(.*?\)\s*)?\((.*?)\);", text, re.S)
    if not m:
        return None, {}, [f"{where}: no module header found"]
    errors, ports = [], {}
    for line in m.group(2).splitlines():
        s = line.strip()
        if not s or s.startswith("//"):
            continue
        pm = PORT_RE.match(line)
        if not pm:
            errors.append(f"{where}: cannot read port line '{s}' (one ANSI port per line, widths [N:0])")
            continue
        ports[pm.group(3)] = (pm.group(1), int(pm.group(2)) + 1 if pm.group(2) else 1)
    return m.group(1), ports, errors


def check_kernel_xml(cu, root, where):
    errors = []
    k = root.find("kernel")
    if k is None:
        return [f"{where}: no <kernel> element"]
    if k.get("name") != cu.kernel:
        errors.append(f"{where}: kernel name is {k.get('name')!r}, the design's is {cu.kernel!r}")
    if k.get("hwControlProtocol") != cu.control:
        errors.append(f"{where}: hwControlProtocol is {k.get('hwControlProtocol')!r}, the design's control is {cu.control!r}")
    if cu.control == "ap_ctrl_none" and k.get("interrupt") != "false":
        errors.append(f"{where}: an ap_ctrl_none kernel has interrupt=\"false\", not {k.get('interrupt')!r}")
    ports = {p.get("name"): p for p in k.findall("ports/port")}
    ax = ports.pop(cu.axilite_port, None)
    if ax is None:
        errors.append(f"{where}: no port {cu.axilite_port} (the design's AXI-Lite port)")
    else:
        want = {"mode": "slave", "portType": "addressable", "dataWidth": "32"}
        for attr, v in want.items():
            if ax.get(attr) != v:
                errors.append(f"{where}: port {cu.axilite_port}: {attr} is {ax.get(attr)!r}, expected {v!r}")
        if int(ax.get("range", "0"), 0) != cu.range:
            errors.append(f"{where}: port {cu.axilite_port}: range {ax.get('range')}, the design's is 0x{cu.range:X}")
    for a in cu.streams().values():
        p = ports.pop(a.port, None)
        if p is None:
            errors.append(f"{where}: no port {a.port} (the design's {a.bits}-bit {a.direction} stream)")
            continue
        mode = "read_only" if a.direction == "in" else "write_only"
        if p.get("portType") != "stream":
            errors.append(f"{where}: port {a.port}: portType {p.get('portType')!r}, expected 'stream'")
        if p.get("mode") != mode:
            errors.append(f"{where}: port {a.port}: mode {p.get('mode')!r}, the design's direction {a.direction} "
                          f"is {mode!r}")
        if p.get("dataWidth") != str(a.bits):
            errors.append(f"{where}: port {a.port}: width {p.get('dataWidth')}, the design's is {a.bits} bits")
    for name in ports:
        errors.append(f"{where}: port {name} is not a port of the design's {cu.instance}")

    args = {}
    for x in k.findall("args/arg"):
        if x.get("name") in args:
            errors.append(f"{where}: arg {x.get('name')} listed twice")
        args[x.get("name")] = x
    ids = [x.get("id") for x in args.values()]
    for i in sorted({i for i in ids if ids.count(i) > 1}):
        errors.append(f"{where}: arg id {i} used twice")
    for a in cu.args:
        x = args.pop(a.name, None)
        if x is None:
            errors.append(f"{where}: no arg {a.name} (id {a.id})")
            continue
        if x.get("id") != str(a.id):
            errors.append(f"{where}: arg {a.name}: id {x.get('id')}, gen_alveo.py's is {a.id}")
        if a.kind == "stream":
            want = {"addressQualifier": "4", "port": a.port}
        else:
            want = {"addressQualifier": "0", "port": cu.axilite_port}
            for attr, v in (("offset", a.offset), ("size", a.size)):
                if int(x.get(attr, "-1"), 0) != v:
                    errors.append(f"{where}: arg {a.name}: {attr} {x.get(attr)}, the register map's is 0x{v:X}")
        for attr, v in want.items():
            if x.get(attr) != v:
                errors.append(f"{where}: arg {a.name}: {attr} is {x.get(attr)!r}, expected {v!r}")
    for name in args:
        errors.append(f"{where}: arg {name} is not an argument of the design's {cu.instance}")
    return errors


def check_wrapper(cu, text, where, top_text, top_where, sideband_bits):
    module, ports, errors = wrapper_ports(text, where)
    ports = dict(ports)
    top = {m.group(2): m.group(1) for m in TOP_PORT_RE.finditer(top_text)}

    def take(name, direction, width, what):
        p = ports.pop(name, None)
        if p is None:
            errors.append(f"{where}: no port {name} ({what})")
        elif p != (direction, width):
            errors.append(f"{where}: port {name} is {p[0]} [{p[1]}], expected {direction} [{width}] ({what})")

    for pin in cu.clock_pins:
        take(pin, "input", 1, "clock pin of the design")
        take(pin.replace("ap_clk", "ap_rst_n"), "input", 1, f"active-low reset of {pin}")
    addr = int(math.log2(cu.range))
    if 1 << addr != cu.range:
        errors.append(f"{where}: the design's AXI-Lite range 0x{cu.range:X} is not a power of two")
    for sig, (d, w) in AXILITE.items():
        take(f"{cu.axilite_port}_{sig}", d, addr if w is None else w,
             f"{cu.axilite_port}, {'address' if w is None else 'AXI-Lite'} of range 0x{cu.range:X}")
    for a in cu.streams().values():
        what = f"the design's {a.bits}-bit {a.direction} stream {a.port}"
        d_in, d_out = ("input", "output") if a.direction == "in" else ("output", "input")
        take(f"{a.port}_tdata", d_in, a.bits, what)
        take(f"{a.port}_tvalid", d_in, 1, what)
        take(f"{a.port}_tready", d_out, 1, what)
        bus = a.port.split("_", 2)[2]  # s_axis_<bus>[_<p>]
        if not any(n.startswith(bus + "_t") or n == bus for n in top):
            bus = re.sub(r"_\d+$", "", bus)
        if f"{bus}_tdata" in top:
            if top[f"{bus}_tdata"] != d_in:
                errors.append(f"{top_where}: {bus}_tdata is an {top[f'{bus}_tdata']}, but the design's {a.port} "
                              f"is an {a.direction} stream")
            widths = {"tkeep": a.bits // 8, "tlast": 1, **sideband_bits}
            for sig, w in widths.items():
                if f"{bus}_{sig}" in top:
                    take(f"{a.port}_{sig}", d_in, w, f"{bus}_{sig} of {os.path.basename(top_where)}")
        elif bus not in top:
            errors.append(f"{top_where}: no bus {bus} for the design's stream {a.port}")
        # A level (port_down) becomes TDATA/TVALID/TREADY only: nothing more to take.
    for name, (d, w) in sorted(ports.items()):
        errors.append(f"{where}: port {name} ({d} [{w}]) belongs to no interface of the design "
                      "(Vitis refuses pins outside an interface)")
    return module, errors


def run(design, regs, kernel_xml, wrapper, top):
    cu = shell_cu(design, regs)
    sideband = axis_sideband_bits(read(os.path.join(ROOT, AXIS_HPP)))
    root = ET.parse(kernel_xml).getroot()
    return (cu, root, read(wrapper), read(top), sideband)


def check_all(cu, root, wrapper_text, top_text, sideband, paths):
    kx, wr, tp = (gen_alveo.rel(p) for p in paths)
    errors = check_kernel_xml(cu, root, kx)
    module, werr = check_wrapper(cu, wrapper_text, wr, top_text, tp, sideband)
    if module is not None and module != os.path.splitext(os.path.basename(paths[1]))[0]:
        werr.append(f"{wr}: module {module} is not named after its file")
    return errors + werr


def self_test(inputs, paths):
    cu, root, wtext, ttext, sideband = inputs
    base = check_all(cu, root, wtext, ttext, sideband, paths)
    if base:
        print("check_shell_kernel.py --self-test: the inputs themselves disagree:", *base, sep="\n  ")
        return 1

    def xml_mut(fn):
        r = copy.deepcopy(root)
        fn(r)
        return r

    def port(r, name):
        return next(p for p in r.iter("port") if p.get("name") == name)

    def arg(r, name):
        return next(a for a in r.iter("arg") if a.get("name") == name)

    def set_attr(node, attr, v):
        node.set(attr, v)

    def drop_port(r, name):
        ports = r.find("kernel/ports")
        ports.remove(port(r, name))

    def sub(pattern, repl):
        t, n = re.subn(pattern, repl, wtext, count=1, flags=re.M)
        assert n == 1, pattern
        return t

    cases = [
        ("kernel.xml width", "m_axis_port_down: width 16",
         xml_mut(lambda r: set_attr(port(r, "m_axis_port_down"), "dataWidth", "16")), wtext),
        ("kernel.xml missing port", "no port s_axis_peer_tx",
         xml_mut(lambda r: drop_port(r, "s_axis_peer_tx")), wtext),
        ("kernel.xml direction", "s_axis_host_tx: mode 'write_only'",
         xml_mut(lambda r: set_attr(port(r, "s_axis_host_tx"), "mode", "write_only")), wtext),
        ("kernel.xml offset", "arg link_interval: offset 0x110",
         xml_mut(lambda r: set_attr(arg(r, "link_interval"), "offset", "0x110")), wtext),
        ("kernel.xml control", "hwControlProtocol is 'ap_ctrl_hs'",
         xml_mut(lambda r: set_attr(r.find("kernel"), "hwControlProtocol", "ap_ctrl_hs")), wtext),
        ("wrapper sideband", "no port s_axis_repl_port_1_tdest",
         root, sub(r"^.*\bs_axis_repl_port_1_tdest,.*\n", "")),
        ("wrapper width", "port m_axis_parser_in_tdata is output [256]",
         root, sub(r"\[511:0\](\s+m_axis_parser_in_tdata)", r"[255:0]\1")),
        ("wrapper direction", "port m_axis_port_down_tready is output",
         root, sub(r"input(\s+wire\s+m_axis_port_down_tready)", r"output\1")),
        ("wrapper stray pin", "port debug_led (output [1]) belongs to no interface",
         root, sub(r"^(\s*input\s+wire\s+ap_clk,)", r"\1\n    output wire          debug_led,")),
        ("wrapper address width", "s_axi_control_araddr is input [11], expected input [12]",
         root, sub(r"\[11:0\](\s+s_axi_control_araddr)", r"[10:0]\1")),
    ]
    failed = 0
    for name, expect, r, w in cases:
        errs = check_all(cu, r, w, ttext, sideband, paths)
        if not any(expect in e for e in errs):
            failed += 1
            print(f"check_shell_kernel.py --self-test: {name}: not caught (wanted '{expect}'); got:",
                  *errs or ["nothing"], sep="\n  ")
    print(f"check_shell_kernel.py --self-test: {len(cases) - failed} of {len(cases)} broken inputs caught")
    return 1 if failed else 0


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--design", default=os.path.join(ROOT, "constraints", "alveo_design.yaml"))
    ap.add_argument("--regs", default=os.path.join(ROOT, "rtl", "regs", "fanout_regs.yaml"))
    ap.add_argument("--kernel-xml", default=os.path.join(ROOT, "rtl", "alveo", "kernel.xml"))
    ap.add_argument("--wrapper", default=os.path.join(ROOT, "rtl", "alveo", "fanout_shell_kernel.sv"))
    ap.add_argument("--top", default=os.path.join(ROOT, "rtl", "fanout_nic_top.sv"))
    ap.add_argument("--self-test", action="store_true", help="check that broken inputs are caught")
    args = ap.parse_args(argv)
    paths = [os.path.abspath(p) for p in (args.kernel_xml, args.wrapper, args.top)]
    try:
        inputs = run(os.path.abspath(args.design), os.path.abspath(args.regs), *paths)
    except (gen_alveo.DesignError, OSError, ET.ParseError) as e:
        print(f"check_shell_kernel.py: {e}", file=sys.stderr)
        return 2
    if args.self_test:
        return self_test(inputs, paths)
    errors = check_all(*inputs, paths)
    for e in errors:
        print(f"check_shell_kernel.py: {e}", file=sys.stderr)
    if errors:
        return 1
    cu = inputs[0]
    print(f"check_shell_kernel.py: {cu.kernel}: kernel.xml and {gen_alveo.rel(paths[1])} agree with the design "
          f"({len(cu.streams())} streams, {len(cu.args) - len(cu.streams())} register args, "
          f"clocks {', '.join(cu.clock_pins)})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
