#!/usr/bin/env python3
"""Check the HLS kernels' sources against their register maps in rtl/regs/fanout_regs.yaml.

    scripts/check_kernel_regs.py [--cxx <compiler>] [--cxx-test <file>] [definition.yaml]

The register map of every HLS kernel is defined once, in the `kernels:` section of
rtl/regs/fanout_regs.yaml; scripts/gen_regs.py generates the driver's offsets
(driver/include/fanout/regs.hpp) and the pragmas' macros
(hls/common/include/fanout/hls/generated/kernel_regs.hpp) from it. This script reads each kernel's
`source` (the text, not the generator's output) and fails, naming kernel, argument and what is
wrong, unless:
  * the top function exists and its control pragma (port = return) is the definition's `control`;
  * every s_axilite pragma names an argument of the top that the definition lists, in bundle
    `control`, with `offset = FANOUT_REG_<KERNEL>_<NAME>` for its own name; every register of the
    definition has one; an m_axi register also has its m_axi pragma in the definition's `port`;
  * every axis pragma names a stream argument, and the streams (an array x[N] as x_0 .. x_<N-1>)
    are exactly the definition's;
  * every argument of the top is a register or a stream (v++ connects kernels only through
    AXI4-Stream; a wire such as ap_none has nothing to connect to);
  * argument types fit: a scalar's width equals `bits` (uint16_t <-> 16, ap_uint<N> <-> N), an
    rw scalar is passed by value, an ro one through a pointer, an m_axi register is a pointer, an
    array's element width equals `bits` and its extent equals `count`. An extent that is a named
    constant of another header (fanout::proto::kErrorCount) cannot be read here: the C++ test
    (--cxx-test, tests/hls/test_kernel_regs.cpp) must static_assert it, as
    `static_assert(fanout::regs::parser::kErrorCountsCount == fanout::proto::kErrorCount`, and
    this script checks that the static_assert is there. Likewise a stream of a struct: the test
    must static_assert `fanout::regs::<kernel>::kStream<Name>Bits == 8 * sizeof(<type>)`; a
    stream of axis_word is fanout/hls/axis.hpp's kAxisDataBits wide, of ap_uint<N> N rounded up
    to whole bytes;
  * with --cxx: the source, preprocessed as synthesis sees it (FANOUT_HLS_EMIT_PRAGMAS), has
    pragmas whose offsets are the definition's numbers (the generated macros expanded).
A kernel whose source file is not there (yet) is reported and skipped. Exit 0: consistent;
1: inconsistent (every finding printed); 2: the definition is refused or a tool failed.
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_regs  # noqa: E402  (the definition's loader and validation)

ROOT = gen_regs.ROOT
DEFAULT_CXX_TEST = os.path.join(ROOT, "tests", "hls", "test_kernel_regs.cpp")

INT_BITS = {
    "bool": 1,
    "char": 8, "signed char": 8, "unsigned char": 8, "uint8_t": 8, "int8_t": 8,
    "short": 16, "unsigned short": 16, "uint16_t": 16, "int16_t": 16,
    "int": 32, "unsigned": 32, "unsigned int": 32, "uint32_t": 32, "int32_t": 32,
    "long long": 64, "unsigned long long": 64, "uint64_t": 64, "int64_t": 64,
}


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", lambda m: " " * len(m.group(0)), text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def norm(s):
    """Whitespace-normalized text: one space between tokens, none around :: == < > ( ) [ ] * ,."""
    s = re.sub(r"\s+", " ", s).strip()
    return re.sub(r"\s*(::|==|<|>|\(|\)|\[|\]|\*|,)\s*", r"\1", s)


def split_top_level(s, sep=","):
    parts, depth, cur = [], 0, ""
    for c in s:
        if c in "<([":
            depth += 1
        elif c in ">)]":
            depth -= 1
        if c == sep and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += c
    if cur.strip():
        parts.append(cur)
    return parts


def typedefs(code):
    """typedef X Name; and using Name = X; of the file."""
    out = {}
    for m in re.finditer(r"\btypedef\s+([^;]+?)\s+(\w+)\s*;", code):
        out[m.group(2)] = norm(m.group(1))
    for m in re.finditer(r"\busing\s+(\w+)\s*=\s*([^;]+);", code):
        out[m.group(1)] = norm(m.group(2))
    return out


def static_consts(code):
    """static const <int type> NAME = <integer>; of the file (array extents defined there)."""
    out = {}
    for m in re.finditer(r"\b(?:static\s+)?const(?:expr)?\s+[\w:]+\s+(\w+)\s*=\s*(0x[0-9a-fA-F]+|\d+)[uU]?\s*;", code):
        out[m.group(1)] = int(m.group(2), 0)
    return out


def resolve(t, tdefs):
    for _ in range(16):
        base = t.replace("const ", "").strip()
        if base in tdefs:
            t = tdefs[base]
        else:
            return t
    return t


class Arg:
    def __init__(self, text, tdefs):
        self.text = norm(text)
        m = re.match(r"^(.*?)([*&]*)\s*(\w+)\s*(?:\[([^\]]+)\])?$", self.text)
        if not m:
            raise ValueError(f"cannot read argument {text!r}")
        self.type = resolve(m.group(1).strip(), tdefs)
        self.ref = m.group(2)
        self.name = m.group(3)
        self.extent = m.group(4).strip() if m.group(4) else None
        self.const = bool(re.match(r"^(const\s|.*\sconst$)", self.type))
        self.base = re.sub(r"\b(const|volatile)\b", "", self.type).strip()
        self.base = re.sub(r"\s+", " ", self.base)
        sm = re.match(r"^hls::stream<(.*)>$", self.base)
        self.stream_elem = resolve(sm.group(1).strip(), tdefs) if sm else None


def int_width(t):
    t = re.sub(r"\s+", " ", t).strip()
    if t in INT_BITS:
        return INT_BITS[t]
    m = re.match(r"^ap_u?int<(\d+)>$", t)
    return int(m.group(1)) if m else None


def parse_pragmas(code):
    """(mode, {option: value}) for every INTERFACE pragma, FANOUT_HLS_PRAGMA(...) or #pragma."""
    bodies = []
    i = 0
    while True:
        i = code.find("FANOUT_HLS_PRAGMA(", i)
        if i < 0:
            break
        j = i + len("FANOUT_HLS_PRAGMA(")
        depth = 1
        k = j
        while k < len(code) and depth:
            depth += {"(": 1, ")": -1}.get(code[k], 0)
            k += 1
        bodies.append(code[j:k - 1])
        i = k
    bodies += re.findall(r"^\s*#\s*pragma\s+(HLS\s[^\n]*)", code, flags=re.M)
    out = []
    for b in bodies:
        b = re.sub(r"\s+", " ", b).strip()
        m = re.match(r"^HLS INTERFACE (.*)$", b, flags=re.I)
        if not m:
            continue
        rest = re.sub(r"\s*=\s*", "=", m.group(1))
        opts, mode = {}, None
        for tok in rest.split():
            if "=" in tok:
                key, val = tok.split("=", 1)
                opts[key.lower()] = val
            elif mode is None:
                mode = tok.lower()
        mode = opts.pop("mode", mode)
        out.append((mode, opts))
    return out


def top_args(code, top):
    m = re.search(r'extern\s+"C"\s+void\s+' + re.escape(top) + r"\s*\(", code)
    if not m:
        return None
    i, depth = m.end(), 1
    j = i
    while j < len(code) and depth:
        depth += {"(": 1, ")": -1}.get(code[j], 0)
        j += 1
    return [a for a in split_top_level(code[i:j - 1]) if a.strip() and a.strip() != "void"]


def axis_bits():
    text = open(os.path.join(ROOT, "hls", "common", "include", "fanout", "hls", "axis.hpp")).read()
    m = re.search(r"kAxisDataBits\s*=\s*(\d+)", text)
    return int(m.group(1))


def check_kernel(k, cxx_test, errors, notes):
    kw = f"kernel '{k['name']}' ({k['source']})"
    path = os.path.join(ROOT, k["source"])
    if not os.path.exists(path):
        notes.append(f"{kw}: source not present, not checked")
        return False

    def err(msg):
        errors.append(f"{kw}: {msg}")

    code = strip_comments(open(path).read())
    tdefs = typedefs(code)
    consts = static_consts(code)
    raw_args = top_args(code, k["top"])
    if raw_args is None:
        err(f'no extern "C" void {k["top"]}(...) (the definition\'s top)')
        return True
    args = {}
    for a in raw_args:
        try:
            arg = Arg(a, tdefs)
        except ValueError as e:
            err(str(e))
            continue
        args[arg.name] = arg
    regs = {r["name"]: r for r in k["registers"]}
    streams = {s["name"]: s for s in k["streams"]}
    prefix = f"FANOUT_REG_{k['name'].upper()}_"
    ns = f"fanout::regs::{k['name']}"
    test_text, test_name = cxx_test

    def asserted(lhs, rhs):
        return f"static_assert({norm(lhs)}=={norm(rhs)}" in test_text

    pragmas = parse_pragmas(code)
    covered = {}  # argument -> interface modes
    controls = [(m, o) for m, o in pragmas if o.get("port") == "return" and m and m.startswith("ap_ctrl")]
    if len(controls) != 1 or controls[0][0] != k["control"]:
        got = ", ".join(m for m, _ in controls) or "none"
        err(f"control pragma (port = return) must be {k['control']}, found {got}")
    saxi = {}
    maxi = {}
    for mode, o in pragmas:
        port = o.get("port")
        if port is None:
            err(f"INTERFACE {mode} pragma without port")
            continue
        if port == "return":
            if mode == "s_axilite" and o.get("bundle") != "control":
                err(f"s_axilite port = return must be in bundle control, found {o.get('bundle')}")
            continue
        if port not in args:
            err(f"{mode} pragma names '{port}', not an argument of {k['top']}")
            continue
        covered.setdefault(port, []).append(mode)
        if mode == "s_axilite":
            if port in saxi:
                err(f"argument '{port}': two s_axilite pragmas")
            saxi[port] = o
            if port not in regs:
                err(f"argument '{port}': s_axilite pragma, but kernel '{k['name']}' of the definition has no "
                    f"register '{port}'")
                continue
            if o.get("bundle") != "control":
                err(f"argument '{port}': s_axilite bundle must be control, found {o.get('bundle')}")
            want = prefix + port.upper()
            if o.get("offset") != want:
                err(f"argument '{port}': s_axilite offset must be {want}, found {o.get('offset')}")
        elif mode == "m_axi":
            maxi[port] = o
        elif mode == "axis":
            if args[port].stream_elem is None:
                err(f"argument '{port}': axis pragma on a non-stream argument")
        else:
            err(f"argument '{port}': interface {mode} (only s_axilite, m_axi and axis reach the v++ link)")

    for name, r in regs.items():
        rw = f"register '{name}'"
        if name not in args:
            err(f"{rw}: not an argument of {k['top']}")
            continue
        if name not in saxi:
            err(f"{rw}: argument '{name}' has no s_axilite pragma")
        a = args[name]
        if r["kind"] == "m_axi":
            if name not in maxi:
                err(f"{rw}: argument '{name}' has no m_axi pragma")
            elif maxi[name].get("bundle") != r["port"]:
                err(f"{rw}: m_axi bundle must be {r['port']} (field 'port'), found {maxi[name].get('bundle')}")
            if a.ref != "*" and a.extent is None:
                err(f"{rw}: an m_axi register's argument must be a pointer, found '{a.text}'")
            continue
        if name in maxi:
            err(f"{rw}: m_axi pragma, but the definition has no kind: m_axi")
        if a.stream_elem is not None:
            err(f"{rw}: argument '{name}' is a stream")
            continue
        width = int_width(a.base)
        if width is None:
            err(f"{rw}: cannot tell the width of type '{a.base}'")
        elif width != r["bits"]:
            err(f"{rw}: argument type {a.base} is {width} bits, field 'bits' says {r['bits']}")
        if "count" in r:
            if a.extent is None:
                err(f"{rw}: field 'count' {r['count']}, but argument '{a.text}' is not an array")
                continue
            if a.ref:
                err(f"{rw}: an array of pointers or references, '{a.text}'")
            ext = a.extent
            val = int(ext, 0) if re.match(r"^(0x[0-9a-fA-F]+|\d+)[uU]?$", ext) else consts.get(ext)
            lhs = f"{ns}::k{gen_regs.camel(name)}Count"
            if val is not None:
                if val != r["count"]:
                    err(f"{rw}: array extent {ext} = {val}, field 'count' says {r['count']}")
            elif not asserted(lhs, ext):
                err(f"{rw}: extent {ext} is not checked: {test_name} needs "
                    f"static_assert({lhs} == {ext}, ...)")
            if r["access"] == "ro" and a.const:
                err(f"{rw}: access ro (the kernel writes it), but the array is const")
        else:
            if a.extent is not None:
                err(f"{rw}: argument '{a.text}' is an array, the definition has no 'count'")
            elif r["access"] == "rw" and a.ref:
                err(f"{rw}: access rw is an input passed by value, found '{a.text}'")
            elif r["access"] == "ro" and (a.ref != "*" or a.const):
                err(f"{rw}: access ro is an output through a non-const pointer, found '{a.text}'")
    for name, o in maxi.items():
        if name not in regs:
            err(f"argument '{name}': m_axi pragma, but no register '{name}' in kernel '{k['name']}'")

    # Streams: every stream argument on axis, the expanded names equal the definition's.
    got_streams = {}
    for name, a in args.items():
        if a.stream_elem is None:
            continue
        if "axis" not in covered.get(name, []):
            err(f"stream '{name}': no axis pragma")
        if a.extent is None:
            got_streams[name] = a
            continue
        ext = a.extent
        n = int(ext, 0) if re.match(r"^(0x[0-9a-fA-F]+|\d+)$", ext) else consts.get(ext)
        if n is None:
            err(f"stream array '{name}[{ext}]': extent not a number or a constant of this file")
            continue
        for i in range(n):
            got_streams[f"{name}_{i}"] = a
    for name in sorted(set(got_streams) - set(streams)):
        err(f"stream '{name}': not in the definition's streams")
    for name in sorted(set(streams) - set(got_streams)):
        err(f"stream '{name}' of the definition: no such stream argument")
    for name in sorted(set(got_streams) & set(streams)):
        elem = got_streams[name].stream_elem
        bits = streams[name]["bits"]
        if re.match(r"^(fanout::hw::)?axis_word$", elem):
            want = axis_bits()
        elif int_width(elem) is not None:
            want = (int_width(elem) + 7) // 8 * 8
        else:
            lhs = f"{ns}::kStream{gen_regs.camel(name)}Bits"
            if not asserted(lhs, f"8*sizeof({elem})"):
                err(f"stream '{name}' of {elem}: not checked: {test_name} needs "
                    f"static_assert({lhs} == 8 * sizeof({elem}), ...)")
            continue
        if bits != want:
            err(f"stream '{name}' of {elem}: TDATA is {want} bits, field 'bits' says {bits}")

    for name in args:
        if name not in covered:
            err(f"argument '{name}': no interface pragma (neither a register nor a stream)")
    return True


def check_preprocessed(k, cxx, errors):
    """The pragmas as synthesis sees them: the generated macros expanded to the definition's offsets."""
    kw = f"kernel '{k['name']}' ({k['source']})"
    src = os.path.join(ROOT, k["source"])
    incs = [os.path.join(ROOT, "proto", "include"), os.path.join(ROOT, "hls", "common", "include"),
            os.path.join(ROOT, "hls", "common", "shim"), os.path.dirname(src)]
    cmd = [cxx, "-E", "-P", "-std=c++14", "-DFANOUT_HLS_EMIT_PRAGMAS=1", "-DFANOUT_HLS_SHIM=1"]
    cmd += [f"-I{i}" for i in incs] + [src]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    if p.returncode != 0:
        raise RuntimeError(f"{kw}: {' '.join(cmd)} failed:\n{p.stderr}")
    seen = {}
    for line in p.stdout.splitlines():
        m = re.match(r"^\s*#\s*pragma\s+HLS\s+INTERFACE\s+(.*)$", line)
        if not m:
            continue
        rest = re.sub(r"\s*=\s*", "=", m.group(1))
        opts = dict(t.split("=", 1) for t in rest.split() if "=" in t)
        if "s_axilite" not in rest.split() or opts.get("port") in (None, "return"):
            continue
        port = opts["port"]
        try:
            seen[port] = int(opts.get("offset", ""), 0)
        except ValueError:
            errors.append(f"{kw}: preprocessed: s_axilite port = {port} has offset {opts.get('offset')!r}, "
                          "not a number (the macro did not expand)")
    for r in k["registers"]:
        if r["name"] not in seen:
            errors.append(f"{kw}: preprocessed: no s_axilite pragma for register '{r['name']}'")
        elif seen[r["name"]] != r["offset"]:
            errors.append(f"{kw}: preprocessed: register '{r['name']}' at offset 0x{seen[r['name']]:x}, "
                          f"the definition says 0x{r['offset']:x} (stale generated header?)")


def main(argv):
    cxx = None
    cxx_test = DEFAULT_CXX_TEST
    rest = []
    it = iter(argv)
    for a in it:
        if a == "--cxx":
            cxx = next(it, None)
        elif a == "--cxx-test":
            cxx_test = next(it, None)
        else:
            rest.append(a)
    definition = rest[0] if rest else os.path.join(ROOT, "rtl", "regs", "fanout_regs.yaml")
    try:
        d = gen_regs.load(definition)
    except (gen_regs.DefinitionError, gen_regs.yaml.YAMLError, OSError) as e:
        print(f"check_kernel_regs: {e}", file=sys.stderr)
        return 2
    if not cxx_test or not os.path.exists(cxx_test):
        print(f"check_kernel_regs: no C++ test {cxx_test}", file=sys.stderr)
        return 2
    test = (norm(strip_comments(open(cxx_test).read())), os.path.relpath(cxx_test, ROOT))
    errors, notes, checked = [], [], []
    try:
        for k in d["kernels"]:
            if check_kernel(k, test, errors, notes):
                checked.append(k["name"])
                if cxx:
                    check_preprocessed(k, cxx, errors)
    except RuntimeError as e:
        print(f"check_kernel_regs: {e}", file=sys.stderr)
        return 2
    for n in notes:
        print(f"check_kernel_regs: note: {n}")
    for e in errors:
        print(f"check_kernel_regs: {e}")
    if not checked:
        print("check_kernel_regs: no kernel source found")
        return 1
    if errors:
        print(f"check_kernel_regs: {len(errors)} inconsistencies")
        return 1
    print(f"check_kernel_regs: consistent: {', '.join(checked)}"
          + (" (pragmas also preprocessed)" if cxx else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
