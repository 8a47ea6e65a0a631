#!/bin/sh
# Builds both minimal clients for thumbv7em-none-eabihf (opt-level "s", LTO, panic=abort) and
# prints flash (text + rodata), static RAM (data + bss) and the connection state's size on the
# target (the STATE_SIZE static each image keeps). Needs llvm-size and python3.
set -e
cd "$(dirname "$0")"
T=${CARGO_TARGET_DIR:-$(pwd)/target}/footprint
for c in wsproto-client embedded-websocket-client; do
    (cd $c && CARGO_TARGET_DIR=$T cargo build -q --release --target thumbv7em-none-eabihf)
    elf=$T/thumbv7em-none-eabihf/release/footprint-$c
    state=$(python3 - "$elf" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
# ELF32 little-endian: section headers, then the symbol table and its string table.
shoff, = struct.unpack_from("<I", data, 0x20)
shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x2E)
sections = [struct.unpack_from("<IIIIIIIIII", data, shoff + i * shentsize) for i in range(shnum)]
symtab = next(s for s in sections if s[1] == 2)
strtab = sections[symtab[6]]
for i in range(symtab[5] // 16):
    name, value, size, info, other, shndx = struct.unpack_from("<IIIBBH", data, symtab[4] + i * 16)
    end = data.index(b"\0", strtab[4] + name)
    if data[strtab[4] + name:end] == b"STATE_SIZE":
        sec = sections[shndx]
        print(struct.unpack_from("<I", data, sec[4] + value - sec[3])[0])
PY
)
    llvm-size $elf | awk -v c=$c -v s=$state 'NR == 2 {printf "%-26s flash %6d B  static RAM %4d B  state %4d B\n", c, $1, $2 + $3, s}'
done
