#!/usr/bin/env bash
# Benchmark: hostile packages against `wsus-airgap inspect`, each timed with its peak memory.
#
# Usage: bench/hostile.sh [WORK_DIR]
#   WORK_DIR  where to build the inputs (default: ${TMPDIR:-/tmp}/wsus-airgap-bench-hostile);
#             kept and reused, they take a minute to build.
# Needs: python3, GNU time (/usr/bin/time; `apt-get install time`).
#
# The inputs are the shapes an adversarial run found, and worse: a cabinet whose file entry
# lies past its folder, XML nested a million levels, gigabytes of whitespace or of <File>
# elements behind a few megabytes of gzip or MSZIP, millions of updates listed, records of the
# largest size holding nothing but title, a gzip bomb. Cabinets are written here block by
# block (MSZIP, each 32 KiB block compressed once and repeated), so that gigabytes of XML cost
# megabytes of disk. Targets: any input under 10 MB refused or read within 10 s; peak memory
# under 500 MB for any input under 100 MB. MB here is 10^6 bytes.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${1:-${TMPDIR:-/tmp}/wsus-airgap-bench-hostile}
gnu_time=/usr/bin/time
[ -x "$gnu_time" ] || { echo "bench: GNU time ($gnu_time) is not installed" >&2; exit 2; }
command -v python3 >/dev/null || { echo "bench: python3 is not installed" >&2; exit 2; }

cargo build --release --quiet --bins --examples
bin=target/release/wsus-airgap
mkdir -p "$dir"

# A small real-shaped package, for the cabinet whose file entry lies past its folder.
if [ ! -f "$dir/small.cab" ]; then
  target/release/examples/synth-site "$dir/site" --files 6 --max-size 2000 \
    --package "$dir/small.cab" --updates 4 --bundles 1 --languages 2 > /dev/null
fi

python3 - "$dir" <<'PYTHON'
import gzip, os, struct, sys, zlib

out = sys.argv[1]
BLOCK = 32768
ID = "11111111-1111-1111-1111-{:012x}"
HEAD = b'<ExportPackage ServerID="x" CreationTime="y">'

def mszip(chunk, level=6):
    packer = zlib.compressobj(level, zlib.DEFLATED, -15)
    return b"CK" + packer.compress(chunk) + packer.flush()

class Member:
    """The uncompressed stream of one cabinet member, cut into 32 KiB blocks; a block equal
    to the one before is compressed once."""
    def __init__(self, blocks):
        self.blocks, self.buffer, self.size = blocks, b"", 0
    def add(self, pattern, count=1):
        period, at, total = len(pattern), 0, len(pattern) * count
        repeated = pattern * (BLOCK // period + 2)
        while at < total:
            take = min(BLOCK - len(self.buffer), total - at)
            phase = at % period
            if phase + take <= len(repeated):
                self.buffer += repeated[phase:phase + take]
            else:
                self.buffer += (pattern * ((phase + take) // period + 1))[phase:phase + take]
            at += take
            self.size += take
            if len(self.buffer) == BLOCK:
                self.blocks.flush(self.buffer)
                self.buffer = b""

class Blocks:
    """The data blocks of one folder, for members written one after the other."""
    def __init__(self):
        self.list, self.last, self.pending = [], None, b""
    def flush(self, chunk):
        chunk = self.pending + chunk
        self.pending = b""
        while len(chunk) >= BLOCK:
            piece, chunk = chunk[:BLOCK], chunk[BLOCK:]
            if self.last is None or self.last[0] != piece:
                self.last = (piece, mszip(piece))
            self.list.append((self.last[1], BLOCK))
        self.pending = chunk
    def finish(self, member):
        self.pending += member.buffer
        member.buffer = b""
    def close(self):
        while self.pending:
            piece, self.pending = self.pending[:BLOCK], self.pending[BLOCK:]
            self.list.append((mszip(piece), len(piece)))

def write_cabinet(name, fill_package_xml, fill_metadata):
    blocks = Blocks()
    members = []
    for member_name, fill in (("package.xml", fill_package_xml), ("metadata.txt", fill_metadata)):
        member = Member(blocks)
        fill(member)
        blocks.finish(member)
        members.append((member_name.encode(), member.size))
    blocks.close()
    files, offset = b"", 0
    for member_name, size in members:
        files += struct.pack("<IIHHHH", size, offset, 0, 0x5821, 0, 0x20) + member_name + b"\0"
        offset += size
    data_at = 36 + 8 + len(files)
    length = data_at + sum(8 + len(data) for data, _ in blocks.list)
    with open(os.path.join(out, name), "wb") as cab:
        cab.write(struct.pack("<4sIIIIIBBHHHHH", b"MSCF", 0, length, 0, 44, 0, 3, 1, 1, 2, 0, 0, 0))
        cab.write(struct.pack("<IHH", data_at, len(blocks.list), 1))
        cab.write(files)
        for data, produces in blocks.list:
            cab.write(struct.pack("<IHH", 0, len(data), produces) + data)

def listing(count):
    def fill(member):
        member.add(HEAD + b"<Updates>")
        for number in range(count):
            member.add(b'<Update UpdateId="%s" RevisionNumber="1"/>' % ID.format(number).encode())
        member.add(b"</Updates></ExportPackage>")
    return fill

def nothing(member):
    pass

def record(number, inner):
    xml = ('<upd:Update xmlns:upd="u"><upd:UpdateIdentity UpdateID="%s" RevisionNumber="1"/>'
           % ID.format(number)).encode() + inner + b"</upd:Update>"
    units = len(xml.decode("utf-8").encode("utf-16-le")) // 2
    return b"%s,00000001,%08x," % (ID.format(number).encode(), units) + xml + b"\r\n"

def made(name):
    return os.path.exists(os.path.join(out, name))

# The cabinet whose first file entry lies past its folder (finding 3).
if not made("entry-past-folder.cab"):
    crafted = bytearray(open(os.path.join(out, "small.cab"), "rb").read())
    struct.pack_into("<I", crafted, 48, 0x7FFFFFF0)
    open(os.path.join(out, "entry-past-folder.cab"), "wb").write(crafted)

# XML nested a million levels in package.xml, 200,000 in a metadata.txt record (finding 4).
if not made("nested-package-xml.cab"):
    write_cabinet("nested-package-xml.cab",
                  lambda m: (m.add(HEAD), m.add(b"<a>", 1_000_000), m.add(b"</a>", 1_000_000),
                             m.add(b"</ExportPackage>")), nothing)
if not made("nested-metadata.cab"):
    write_cabinet("nested-metadata.cab", listing(1),
                  lambda m: m.add(record(0, b"<a>" * 200_000 + b"</a>" * 200_000)))

# Whitespace: 1.5 GB inside package.xml in a cabinet, 3 GB of XML behind a gzip (finding 5).
if not made("whitespace-package-xml.cab"):
    write_cabinet("whitespace-package-xml.cab",
                  lambda m: (m.add(HEAD), m.add(b" " * 1024, 1_500_000), m.add(b"</ExportPackage>")),
                  nothing)

def gzip_members(name, first, pattern, members):
    """gzip of `first` then `members` times 64 MiB of `pattern`, as concatenated members."""
    filler = gzip.compress(pattern * (64 * 1024 * 1024 // len(pattern)), 9, mtime=0)
    with open(os.path.join(out, name), "wb") as packed:
        packed.write(gzip.compress(first, 9, mtime=0))
        for _ in range(members):
            packed.write(filler)

if not made("whitespace-3gb.xml.gz"):
    gzip_members("whitespace-3gb.xml.gz", HEAD, b" " * 64, 45)

# 2.6 GB of <File> elements behind a gzip, and 2 GB in a cabinet (finding 5).
FILE = b'<File Digest="+woVBgFHAZXEe06Nh/yz9QKSvrI=" Name="ab" MUUrl=""/>'  # 64 bytes
if not made("file-elements-2.6gb.xml.gz"):
    gzip_members("file-elements-2.6gb.xml.gz", HEAD + b"<Files>", FILE, 39)
if not made("file-elements.cab"):
    write_cabinet("file-elements.cab",
                  lambda m: (m.add(HEAD + b"<Files>"), m.add(FILE, 2_000_000_000 // len(FILE))),
                  nothing)

# 2 GiB of empty elements the reader must read and does not keep.
if not made("empty-elements.cab"):
    write_cabinet("empty-elements.cab",
                  lambda m: (m.add(HEAD), m.add(b"<a/>", 2_000_000_000 // 4), m.add(b"</ExportPackage>")),
                  nothing)

# Four million updates listed, and 2.8 million (which package.xml alone could hold): the
# index and the updates would not fit.
if not made("updates-listed.cab"):
    write_cabinet("updates-listed.cab", listing(4_000_000), nothing)
if not made("updates-listed-2.8m.cab"):
    write_cabinet("updates-listed-2.8m.cab", listing(2_800_000), nothing)

# Records of the largest size (16 MiB), all title: what is kept would not fit.
if not made("title-records.cab"):
    def titles(member):
        title = b"<upd:LocalizedPropertiesCollection><upd:LocalizedProperties>" \
                b"<upd:Language>en</upd:Language><upd:Title>" + b"t" * (16 * 1024 * 1024 - 400) + \
                b"</upd:Title></upd:LocalizedProperties></upd:LocalizedPropertiesCollection>"
        for number in range(40):
            member.add(record(number, title))
    write_cabinet("title-records.cab", listing(40), titles)

# The most a cabinet can make the reader parse: 2 GiB of metadata.txt, records of the largest
# size whose text it reads and does not keep.
if not made("description-records.cab"):
    def descriptions(member):
        text = b"<upd:Properties><upd:Description>" + b"d" * (16 * 1024 * 1024 - 400) + \
               b"</upd:Description></upd:Properties>"
        for number in range(127):
            member.add(record(number, text))
    write_cabinet("description-records.cab", listing(127), descriptions)

# The same, as empty elements: 2 GiB of records of the largest size, each all <a/>.
if not made("element-records.cab"):
    def elements(member):
        text = b"<a/>" * ((16 * 1024 * 1024 - 400) // 4)
        for number in range(127):
            member.add(record(number, text))
    write_cabinet("element-records.cab", listing(127), elements)

# A gzip bomb: 2.7 GB of zeros after a cabinet header.
if not made("bomb.cab.gz"):
    gzip_members("bomb.cab.gz", b"MSCF" + b"\0" * 60, b"\0" * 1024, 40)
PYTHON

printf '%-30s %12s %5s %8s %10s  %s\n' input bytes exit wall "peak RSS" "what it said"
for input in entry-past-folder.cab nested-package-xml.cab nested-metadata.cab \
  whitespace-package-xml.cab whitespace-3gb.xml.gz empty-elements.cab file-elements-2.6gb.xml.gz \
  file-elements.cab \
  updates-listed.cab updates-listed-2.8m.cab title-records.cab description-records.cab \
  element-records.cab \
  bomb.cab.gz; do
  path="$dir/$input"
  status=0
  "$gnu_time" -v -o "$dir/time.txt" "$bin" inspect "$path" > /dev/null 2> "$dir/stderr.txt" || status=$?
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$dir/time.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$dir/time.txt")
  said=$({ grep -v '^Command exited' "$dir/stderr.txt" || echo "(read: nothing wrong)"; } | head -1 |
    sed "s|$dir/||; s|^wsus-airgap: error: ||" | cut -c1-120)
  printf '%-30s %12s %5s %8s %7.1f MB  %s\n' "$input" "$(stat -c %s "$path")" "$status" "$wall" \
    "$(awk -v k="$rss" 'BEGIN {print k * 1024 / 1e6}')" "$said"
done
