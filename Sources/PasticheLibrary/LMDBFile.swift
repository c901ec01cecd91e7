import Foundation

/// Reads an LMDB `data.mdb` with plain `pread`s, never through a memory map, and checks its
/// structure: LMDB itself maps the file and trusts every page number it finds there, so a
/// truncated or overwritten file makes it touch pages beyond the file's end (SIGBUS) or follow
/// garbage. `LMDBEnvironment` runs `check` before LMDB reads a page, and `salvage` walks the
/// same pages to recover every record whose pages are intact.
///
/// The layout is LMDB 0.9's on-disk format (mdb.c): pages of `psize` bytes; pages 0 and 1 are
/// meta pages (the one with the larger transaction id is current), each naming the last page in
/// use and the roots of the free-page tree and the main tree; the main tree's leaves hold the
/// named databases (`F_SUBDATA`), whose trees hold the records; large values live on runs of
/// overflow pages (`F_BIGDATA`).
public struct LMDBFile {
    public struct Damage: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String {
            "\(path): the database file is damaged (\(reason)); `pastiche doctor` checks it and `pastiche embed salvage OUT` copies what is readable"
        }
    }

    // Page header: pgno (8), pad (2), flags (2), lower/upper or overflow page count (4).
    static let pageHeader = 16
    static let nodeHeader = 8
    static let branch: UInt16 = 0x01, leaf: UInt16 = 0x02, overflow: UInt16 = 0x04, metaFlag: UInt16 = 0x08
    /// Flags LMDB may leave on written pages that say nothing about their layout.
    static let ignoredFlags: UInt16 = 0x10 | 0x4000 | 0x8000
    static let bigData: UInt16 = 0x01, subData: UInt16 = 0x02, dupData: UInt16 = 0x04
    /// MDB_DUPSORT in a database record's flags.
    static let dupSort: UInt16 = 0x04
    static let magic: UInt32 = 0xBEEF_C0DE
    static let invalidPage = UInt64.max

    /// One B-tree as a meta page or a `F_SUBDATA` node describes it (MDB_db).
    struct Tree {
        var flags: UInt16, depth: Int, entries: UInt64, root: UInt64
    }
    struct Meta {
        var pageSize: Int, lastPage: UInt64, transaction: UInt64, free: Tree, main: Tree
    }

    let path: String
    let handle: FileHandle
    let fileSize: UInt64
    let meta: Meta

    /// Opens `path` (a data.mdb) and reads its current meta page. Throws `Damage` when the file
    /// is too short, has no valid meta page, or names pages past its end.
    /// `transaction`: use the meta page of exactly this transaction (a snapshot a reader pins).
    /// `salvaging`: accept a file shorter than its pages (truncated); pages past its end then
    /// read as damaged.
    init(path: String, transaction: UInt64? = nil, salvaging: Bool = false) throws {
        self.path = path
        guard let h = FileHandle(forReadingAtPath: path) else {
            throw Damage(path: path, reason: "cannot be read")
        }
        handle = h
        let fileSize = (try? h.seekToEnd()) ?? 0
        self.fileSize = fileSize
        let damage = { (why: String) in Damage(path: path, reason: why) }
        guard fileSize >= 2 * 512 else { throw damage("\(fileSize) bytes, shorter than two meta pages") }
        // The page size is stored in the first meta page (mm_psize, the free tree's md_pad).
        let first = try Self.read(h, offset: 0, count: 512)
        let metas = try [0, 1].compactMap { i -> Meta? in
            let candidateSize = i == 0 ? 512 : Int(Self.u32(first, 40))
            guard i == 0 || Self.validPageSize(candidateSize) else { return nil }
            let offset = UInt64(i == 0 ? 0 : candidateSize)
            guard offset + 512 <= fileSize else { return nil }
            return Self.parseMeta(try Self.read(h, offset: offset, count: 512))
        }
        guard let pageSize = metas.first?.pageSize, Self.validPageSize(pageSize) else {
            throw damage("no valid meta page")
        }
        guard fileSize >= UInt64(2 * pageSize) else {
            throw damage("\(fileSize) bytes, shorter than two \(pageSize)-byte meta pages")
        }
        let valid = metas.filter { $0.pageSize == pageSize }
        // LMDB reads both meta pages and takes the page size and the sizes of the one with the
        // larger transaction id, whatever they hold: unless both agree, it may divide by zero
        // or map garbage (salvage reads pages itself and needs only one).
        guard salvaging || (metas.count == 2 && valid.count == 2) else {
            throw damage("a meta page is damaged")
        }
        let chosen: Meta?
        if let transaction {
            chosen = valid.first { $0.transaction == transaction }
        } else {
            chosen = valid.max { $0.transaction < $1.transaction }
        }
        guard let chosen else { throw damage("no valid meta page for the current transaction") }
        // (Checked first: the product below overflows for a garbage page number.)
        guard chosen.lastPage < (1 << 40) else { throw damage("its last page number \(chosen.lastPage) is not plausible") }
        let needed = (chosen.lastPage + 1) * UInt64(pageSize)
        guard needed <= fileSize || salvaging else {
            throw damage("\(fileSize) bytes, but its pages run to \(needed)")
        }
        meta = chosen
    }

    static func validPageSize(_ n: Int) -> Bool { n >= 512 && n <= 65536 && n & (n - 1) == 0 }

    static func parseMeta(_ p: [UInt8]) -> Meta? {
        // MDB_meta after the page header: magic 16, version 20, address 24, mapsize 32,
        // free tree 40..88, main tree 88..136, last page 136, transaction id 144.
        guard u16(p, 10) & metaFlag != 0, u32(p, 16) == magic, u32(p, 20) == 1 else { return nil }
        func tree(_ o: Int) -> Tree {
            Tree(flags: u16(p, o + 4), depth: Int(u16(p, o + 6)), entries: u64(p, o + 32), root: u64(p, o + 40))
        }
        return Meta(pageSize: Int(u32(p, 40)), lastPage: u64(p, 136), transaction: u64(p, 144),
                    free: tree(40), main: tree(88))
    }

    // MARK: pages

    static func read(_ h: FileHandle, offset: UInt64, count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let fd = h.fileDescriptor
        var done = 0
        while done < count {
            let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
            if n <= 0 { throw Damage(path: "", reason: "read failed") }
            done += n
        }
        return out
    }

    func page(_ pgno: UInt64) throws -> [UInt8] {
        guard pgno >= 2, pgno <= meta.lastPage, (pgno + 1) * UInt64(meta.pageSize) <= fileSize else {
            throw Damage(path: path, reason: "page \(pgno) is outside the file")
        }
        let p = try Self.read(handle, offset: pgno * UInt64(meta.pageSize), count: meta.pageSize)
        guard Self.u64(p, 0) == pgno else { throw Damage(path: path, reason: "page \(pgno) holds page \(Self.u64(p, 0))") }
        return p
    }

    /// A B-tree page's nodes after checking that every one lies inside the page.
    struct Node {
        let flags: UInt16
        let key: ArraySlice<UInt8>
        /// Leaf: the value bytes (or the overflow page number for F_BIGDATA). Branch: empty.
        let data: ArraySlice<UInt8>
        let dataSize: Int
        /// Branch: the child page.
        let child: UInt64
    }

    func nodes(_ p: [UInt8], pgno: UInt64) throws -> (isLeaf: Bool, nodes: [Node]) {
        func bad(_ why: String) -> Damage { Damage(path: path, reason: "page \(pgno): \(why)") }
        let flags = Self.u16(p, 10) & ~Self.ignoredFlags
        guard flags == Self.branch || flags == Self.leaf else { throw bad("not a tree page (flags \(flags))") }
        let lower = Int(Self.u16(p, 12)), upper = Int(Self.u16(p, 14)), size = p.count
        guard lower >= Self.pageHeader, lower % 2 == 0, lower <= upper, upper <= size else {
            throw bad("free space \(lower)..\(upper) out of bounds")
        }
        let count = (lower - Self.pageHeader) / 2
        let isLeaf = flags == Self.leaf
        if !isLeaf && count == 0 { throw bad("a branch page without children") }
        var out: [Node] = []
        out.reserveCapacity(count)
        for k in 0..<count {
            let at = Int(Self.u16(p, Self.pageHeader + 2 * k))
            guard at >= upper, at + Self.nodeHeader <= size else { throw bad("node \(k) at \(at) outside the page") }
            let lo = UInt64(Self.u16(p, at)), hi = UInt64(Self.u16(p, at + 2))
            let nodeFlags = Self.u16(p, at + 4), keySize = Int(Self.u16(p, at + 6))
            let keyStart = at + Self.nodeHeader
            guard keyStart + keySize <= size else { throw bad("node \(k)'s key runs past the page") }
            let key = p[keyStart..<(keyStart + keySize)]
            if isLeaf {
                let dataSize = Int(lo | hi << 16)
                let stored = nodeFlags & Self.bigData != 0 ? 8 : dataSize
                guard keyStart + keySize + stored <= size else { throw bad("node \(k)'s value runs past the page") }
                out.append(Node(flags: nodeFlags, key: key, data: p[(keyStart + keySize)..<(keyStart + keySize + stored)],
                                dataSize: dataSize, child: 0))
            } else {
                out.append(Node(flags: nodeFlags, key: key, data: [], dataSize: 0,
                                child: lo | hi << 16 | UInt64(nodeFlags) << 32))
            }
        }
        return (isLeaf, out)
    }

    /// Checks the run of overflow pages a `F_BIGDATA` leaf points to (its first page's header:
    /// type, page number and length), without reading the value. Returns its first page.
    func overflowRun(_ node: Node) throws -> UInt64 {
        let first = Self.u64(Array(node.data), 0)
        let p = try page(first)
        let pages = UInt64(Self.u32(p, 12))
        guard Self.u16(p, 10) & ~Self.ignoredFlags == Self.overflow, pages >= 1,
              first + pages - 1 <= meta.lastPage, (first + pages) * UInt64(meta.pageSize) <= fileSize,
              UInt64(node.dataSize) <= pages * UInt64(meta.pageSize) - UInt64(Self.pageHeader) else {
            throw Damage(path: path, reason: "overflow page \(first) is not a valid run for a \(node.dataSize)-byte value")
        }
        return first
    }

    /// The value of a leaf node, read from its overflow pages when it has them.
    func value(_ node: Node) throws -> [UInt8] {
        guard node.flags & Self.bigData != 0 else { return Array(node.data) }
        let first = try overflowRun(node)
        return try Self.read(handle, offset: first * UInt64(meta.pageSize) + UInt64(Self.pageHeader), count: node.dataSize)
    }

    /// Visits every leaf node of the tree under `root` in key order. `onDamage` gets each
    /// damaged page (its subtree is skipped) and decides whether to go on (salvage) or stop.
    func walk(_ tree: Tree, visited: inout Set<UInt64>, leaf: (Node) throws -> Void,
              onDamage: (Damage) throws -> Void) throws {
        guard tree.root != Self.invalidPage else { return }
        guard tree.depth >= 1, tree.depth <= 32 else {
            try onDamage(Damage(path: path, reason: "a tree of depth \(tree.depth)"))
            return
        }
        func descend(_ pgno: UInt64, level: Int) throws {
            do {
                guard visited.insert(pgno).inserted else {
                    throw Damage(path: path, reason: "page \(pgno) is reached twice")
                }
                let (isLeaf, nodes) = try self.nodes(try page(pgno), pgno: pgno)
                guard isLeaf == (level == tree.depth) else {
                    throw Damage(path: path, reason: "page \(pgno) is a \(isLeaf ? "leaf" : "branch") at level \(level) of \(tree.depth)")
                }
                if isLeaf {
                    for n in nodes { try leaf(n) }
                } else {
                    for n in nodes { try descend(n.child, level: level + 1) }
                }
            } catch let d as Damage {
                try onDamage(d)
            }
        }
        try descend(tree.root, level: 1)
    }

    /// The named databases of the main tree (name → tree).
    func databases(onDamage: (Damage) throws -> Void) throws -> [(String, Tree)] {
        var visited = Set<UInt64>()
        var out: [(String, Tree)] = []
        try walk(meta.main, visited: &visited, leaf: { n in
            guard n.flags & Self.subData != 0 else { return }
            // LMDB trusts these flags: a database record marked as duplicate data, or one whose
            // database claims sorted duplicates, sends it through sub-page code that a damaged
            // file crashes. Pastiche's databases are plain, so both are damage.
            guard n.flags == Self.subData else {
                throw Damage(path: path, reason: "the record of database '\(String(decoding: n.key, as: UTF8.self))' has flags \(n.flags)")
            }
            guard n.data.count == 48 else { throw Damage(path: path, reason: "a database record of \(n.data.count) bytes") }
            let d = Array(n.data)
            guard Self.u16(d, 4) & Self.dupSort == 0 else {
                throw Damage(path: path, reason: "database '\(String(decoding: n.key, as: UTF8.self))' claims sorted duplicates")
            }
            out.append((String(decoding: n.key, as: UTF8.self),
                        Tree(flags: Self.u16(d, 4), depth: Int(Self.u16(d, 6)), entries: Self.u64(d, 32), root: Self.u64(d, 40))))
        }, onDamage: onDamage)
        return out
    }

    /// Checks every page the current transaction reaches: both trees, every named database,
    /// every overflow run. Throws the first `Damage`.
    public static func check(path: String, transaction: UInt64? = nil) throws {
        let file = try LMDBFile(path: path, transaction: transaction)
        var visited = Set<UInt64>()
        let fail: (Damage) throws -> Void = { throw $0 }
        try file.walk(file.meta.free, visited: &visited, leaf: { n in
            if n.flags & bigData != 0 { _ = try file.overflowRun(n) }
        }, onDamage: fail)
        for (_, tree) in try file.databases(onDamage: fail) {
            try file.walk(tree, visited: &visited, leaf: { n in
                if n.flags & bigData != 0 { _ = try file.overflowRun(n) }
                if n.flags & (subData | dupData) != 0 {
                    throw Damage(path: path, reason: "nested databases are not used by Pastiche")
                }
            }, onDamage: fail)
        }
    }

    /// Every readable record of every named database, skipping damaged pages; `damaged`
    /// describes what was skipped.
    public static func salvage(path: String) throws -> (records: [String: [(key: [UInt8], value: [UInt8])]], damaged: [String]) {
        let file = try LMDBFile(path: path, salvaging: true)
        var damaged: [String] = []
        var records: [String: [(key: [UInt8], value: [UInt8])]] = [:]
        let note: (Damage) -> Void = { damaged.append($0.reason) }
        var visited = Set<UInt64>()
        for (name, tree) in try file.databases(onDamage: note) {
            var found: [(key: [UInt8], value: [UInt8])] = []
            try file.walk(tree, visited: &visited, leaf: { n in
                do { found.append((Array(n.key), try file.value(n))) } catch let d as Damage { note(d) }
            }, onDamage: note)
            records[name] = found
        }
        return (records, damaged)
    }

    /// For tests: the pages each record of database `name` needs to be read (meta pages, the
    /// main tree's path to the database, the database's path to the record's leaf, its overflow
    /// run), by key.
    static func recordPages(path: String, database name: String) throws -> [String: Set<UInt64>] {
        let file = try LMDBFile(path: path)
        var out: [String: Set<UInt64>] = [:]
        func paths(_ tree: Tree, _ visit: (Node, Set<UInt64>) throws -> Void) throws {
            guard tree.root != invalidPage else { return }
            func descend(_ pgno: UInt64, _ above: Set<UInt64>) throws {
                let here = above.union([pgno])
                let (isLeaf, nodes) = try file.nodes(try file.page(pgno), pgno: pgno)
                for n in nodes {
                    if isLeaf { try visit(n, here) } else { try descend(n.child, here) }
                }
            }
            try descend(tree.root, [0, 1])
        }
        try paths(file.meta.main) { dbNode, mainPath in
            guard String(decoding: dbNode.key, as: UTF8.self) == name, dbNode.data.count == 48 else { return }
            let d = Array(dbNode.data)
            let tree = Tree(flags: u16(d, 4), depth: Int(u16(d, 6)), entries: u64(d, 32), root: u64(d, 40))
            try paths(tree) { n, path in
                var pages = path.union(mainPath)
                if n.flags & bigData != 0 {
                    let first = try file.overflowRun(n)
                    let count = UInt64(u32(try file.page(first), 12))
                    pages.formUnion(first..<(first + count))
                }
                out[String(decoding: n.key, as: UTF8.self)] = pages
            }
        }
        return out
    }

    // MARK: little-endian fields

    static func u16(_ p: [UInt8], _ o: Int) -> UInt16 { UInt16(p[o]) | UInt16(p[o + 1]) << 8 }
    static func u32(_ p: [UInt8], _ o: Int) -> UInt32 { UInt32(u16(p, o)) | UInt32(u16(p, o + 2)) << 16 }
    static func u64(_ p: [UInt8], _ o: Int) -> UInt64 { UInt64(u32(p, o)) | UInt64(u32(p, o + 4)) << 32 }
}
