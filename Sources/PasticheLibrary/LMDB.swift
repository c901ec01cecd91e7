import CLMDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A failed LMDB (or errno) call, rendered as one line: what failed, where, and why.
public struct LMDBError: Error, CustomStringConvertible, Equatable {
    public let code: Int32
    public let operation: String
    public let path: String

    public init(_ code: Int32, _ operation: String, path: String) {
        self.code = code
        self.operation = operation
        self.path = path
    }

    /// mdb_strerror also covers plain errno values (EACCES, ENOSPC, ...). LMDB reports a short
    /// write (what a full disk gives) as EIO: that is said as the full disk it is when the
    /// library's file system has (next to) no space left.
    public var message: String {
        if isDiskFull { return "no space left on device" }
        if code == EROFS { return "read-only file system" }
        return String(cString: mdb_strerror(code))
    }

    /// ENOSPC, or EIO on a file system with (next to) no space left.
    public var isDiskFull: Bool { code == ENOSPC || (code == EIO && DiskSpace.isNearlyFull(path)) }

    public var description: String {
        // errno's own words need no number; LMDB's codes and a re-read EIO keep theirs.
        isDiskFull ? "\(path): \(operation) failed: \(message)" : "\(path): \(operation) failed: \(message) (code \(code))"
    }

    public var isMapFull: Bool { code == MDB_MAP_FULL }
}

/// One LMDB environment (a directory holding data.mdb and lock.mdb).
///
/// Open a given directory at most once per process: LMDB's POSIX locks are per process, and a
/// second handle closing would drop the first one's locks.
///
/// Transactions are only handed out through `read` / `write`, which own their lifetime. That is
/// what makes map growth safe: `mdb_env_set_mapsize` remaps the file, so no transaction of this
/// process may be live while it runs. Every transaction holds `resizeLock` shared; growing takes
/// it exclusively. Do not nest `read`/`write` calls on the same environment.
public final class LMDBEnvironment: @unchecked Sendable {
    // @unchecked: the env handle is thread-safe under MDB_NOTLS, and the only mutable state
    // (the map size) is guarded by `resizeLock`.
    let env: OpaquePointer
    public let path: String
    public let isReadOnly: Bool
    private let resizeLock: UnsafeMutablePointer<pthread_rwlock_t>

    /// Opens (and for writers creates) the environment directory.
    /// - Parameters:
    ///   - mapSize: initial map size in bytes; it grows on demand, so small is fine. An existing
    ///     environment's larger recorded size wins.
    ///   - maxDatabases: how many named databases may be opened.
    ///   - flags: extra `mdb_env_open` flags; MDB_NOTLS (and MDB_RDONLY when `readOnly`) are added.
    public init(path: String, mapSize: Int, maxDatabases: Int, readOnly: Bool = false,
                flags: UInt32 = 0) throws {
        self.path = path
        self.isReadOnly = readOnly
        if !readOnly {
            if let failure = makeDirectories(path) {
                throw LMDBError(failure.code, "create directory", path: failure.path)
            }
        }
        // LMDB maps data.mdb and trusts it: check the meta pages before it reads them.
        let dataFile = (path as NSString).appendingPathComponent("data.mdb")
        var existing = (try? FileManager.default.attributesOfItem(atPath: dataFile))?[.size] as? UInt64
        if let size = existing, size < UInt64(2 * Self.pageSize), !readOnly {
            // Shorter than LMDB's two meta pages: a creation that ran out of space (before
            // creations were made whole, below). It cannot hold a record; it is kept aside, not
            // deleted, and the library is created again.
            let aside = dataFile + ".interrupted-\(Int(Date().timeIntervalSince1970))"
            if rename(dataFile, aside) != 0 { throw LMDBError(errno, "set aside the interrupted data.mdb", path: path) }
            FileHandle.standardError.write(Data("pastiche: note: \(dataFile) was a library creation cut short (\(size) bytes, no record); kept as \(aside), library created again\n".utf8))
            existing = nil
        }
        if let existing {
            if existing > 0 {
                _ = try LMDBFile(path: dataFile)
            } else if readOnly {
                throw LMDBFile.Damage(path: dataFile, reason: "the file is empty")
            }
        }
        if !readOnly {
            try Self.reserveLockFile((path as NSString).appendingPathComponent("lock.mdb"), in: path)
            if existing == nil { try Self.createDataFile(dataFile, in: path) }
        }
        // MDB_NOTLS: read transactions are not tied to the thread that began them, so they
        // work with Swift concurrency / dispatch, where a closure may hop threads.
        let openFlags = flags | UInt32(MDB_NOTLS) | (readOnly ? UInt32(MDB_RDONLY) : 0)
        var opened = Self.openHandle(path, flags: openFlags, mapSize: mapSize, maxDatabases: maxDatabases)
        if readOnly, case .failure(let e) = opened, e.operation == "mdb_env_open", Self.deniesWriting(e.code) {
            // LMDB's readers take a slot in lock.mdb, which needs write access. A library the
            // user cannot write to (another user's, read-only media) is opened without the lock
            // file, as LMDB does for read-only file systems: reads then cannot pin a snapshot
            // against a writer elsewhere, but nothing here can write, and every page is checked
            // before use (LMDBFile).
            opened = Self.openHandle(path, flags: openFlags | UInt32(MDB_NOLOCK), mapSize: mapSize, maxDatabases: maxDatabases)
        }
        let handle: OpaquePointer
        switch opened {
        case .success(let h): handle = h
        case .failure(let e):
            if !readOnly && e.operation == "mdb_env_open" && Self.deniesWriting(e.code) {
                throw LMDBError(e.code, "open for writing (the library is read-only to this user; reading it still works)", path: path)
            }
            throw e
        }
        if !readOnly {
            // A process killed mid-read (SIGKILL) leaves its reader slot behind, which would pin
            // old pages forever; clear such slots whenever a writer opens.
            var dead: Int32 = 0
            _ = mdb_reader_check(handle, &dead)
        }
        env = handle
        resizeLock = .allocate(capacity: 1)
        pthread_rwlock_init(resizeLock, nil)
        if let existing, existing > 0 { try checkPages(dataFile) }
    }

    /// Checks every page the current snapshot reaches (`LMDBFile.check`) while a read
    /// transaction pins it, so no writer in another process can reuse a page under the check.
    /// A snapshot whose meta page a writer has already overwritten twice is retried.
    private func checkPages(_ dataFile: String) throws {
        for _ in 0..<8 {
            var txn: OpaquePointer?
            let rc = mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn)
            guard rc == 0, let txn else {
                if rc == MDB_MAP_RESIZED { try adoptMapSize(grow: false, from: mapSize); continue }
                throw LMDBError(rc, "mdb_txn_begin (read)", path: path)
            }
            defer { mdb_txn_abort(txn) }
            do {
                // size_t, imported as Int: a garbage id above Int.max must not trap.
                try LMDBFile.check(path: dataFile, transaction: UInt64(UInt(bitPattern: mdb_txn_id(txn))))
                return
            } catch let damage as LMDBFile.Damage where damage.reason.hasPrefix("no valid meta page for the current") {
                continue
            }
        }
        throw LMDBFile.Damage(path: dataFile, reason: "its current snapshot kept changing while it was checked")
    }

    deinit {
        mdb_env_close(env)
        pthread_rwlock_destroy(resizeLock)
        resizeLock.deallocate()
    }

    /// The current map size of this process's mapping, in bytes.
    public var mapSize: Int {
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        return Int(info.me_mapsize)
    }

    /// Opens (creating when writable) a named database. Handles stay valid for the
    /// environment's lifetime.
    public func openDatabase(_ name: String) throws -> MDB_dbi {
        try (isReadOnly ? read : write) { txn in try txn.openDatabase(name, create: !isReadOnly) }
    }

    /// Runs `body` in a read transaction: a consistent snapshot that never blocks writers.
    public func read<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        while true {
            pthread_rwlock_rdlock(resizeLock)
            var txn: OpaquePointer?
            let rc = mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn)
            if rc == MDB_MAP_RESIZED {
                // Another process grew the map past ours: adopt its size and try again.
                pthread_rwlock_unlock(resizeLock)
                try adoptMapSize(grow: false, from: mapSize)
                continue
            }
            defer { pthread_rwlock_unlock(resizeLock) }
            guard rc == 0, let txn else { throw LMDBError(rc, "mdb_txn_begin (read)", path: path) }
            let t = LMDBTransaction(txn, environment: self, writable: false)
            defer { t.abort() }
            let value = try body(t)
            // Committing a read transaction costs nothing and keeps any database handles it
            // opened; aborting would close them.
            if !t.isFinished { try t.commit() }
            return value
        }
    }

    /// Runs `body` in a write transaction and commits it; any thrown error aborts it.
    ///
    /// When the map fills up (MDB_MAP_FULL) the transaction is aborted, the map doubled and
    /// `body` run again from scratch, so `body` must not have side effects outside `txn`.
    /// Write transactions are serialised across threads and processes by LMDB itself.
    @discardableResult
    public func write<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        guard !isReadOnly else { throw LMDBError(EACCES, "write (environment opened read-only)", path: path) }
        while true {
            let sizeBefore = mapSize
            pthread_rwlock_rdlock(resizeLock)
            var handle: OpaquePointer?
            let rc = mdb_txn_begin(env, nil, 0, &handle)
            if rc == MDB_MAP_RESIZED {
                pthread_rwlock_unlock(resizeLock)
                try adoptMapSize(grow: false, from: sizeBefore)
                continue
            }
            guard rc == 0, let handle else {
                pthread_rwlock_unlock(resizeLock)
                throw LMDBError(rc, "mdb_txn_begin (write)", path: path)
            }
            let txn = LMDBTransaction(handle, environment: self, writable: true)
            let result: Result<T, Error>
            do {
                let value = try body(txn)
                if !txn.isFinished { try txn.commit() }
                result = .success(value)
            } catch {
                result = .failure(error)
            }
            txn.abort()  // no-op after a successful commit
            pthread_rwlock_unlock(resizeLock)
            // `sawMapFull` also catches a MAP_FULL that `body` caught and swallowed: the
            // transaction is unusable after it anyway.
            if txn.sawMapFull {
                try adoptMapSize(grow: true, from: sizeBefore)
                continue
            }
            return try result.get()
        }
    }

    /// Remaps with no transaction of this process live. First adopts the size another process
    /// may have recorded (size 0 means "whatever the environment says"); when `grow` and that
    /// did not already enlarge the map beyond `from`, doubles it.
    private func adoptMapSize(grow: Bool, from previous: Int) throws {
        pthread_rwlock_wrlock(resizeLock)
        defer { pthread_rwlock_unlock(resizeLock) }
        var rc = mdb_env_set_mapsize(env, 0)
        if rc == 0, grow, mapSize <= previous {
            rc = mdb_env_set_mapsize(env, previous * 2)
        }
        if rc != 0 { throw LMDBError(rc, "mdb_env_set_mapsize", path: path) }
    }
}

/// A live transaction. Only valid inside the `read` / `write` closure that received it.
public final class LMDBTransaction {
    private var txn: OpaquePointer?
    public let environment: LMDBEnvironment
    public let isWritable: Bool
    fileprivate(set) var sawMapFull = false

    fileprivate init(_ txn: OpaquePointer, environment: LMDBEnvironment, writable: Bool) {
        self.txn = txn
        self.environment = environment
        self.isWritable = writable
    }

    private func live(_ op: String) throws -> OpaquePointer {
        guard let txn else { throw LMDBError(EINVAL, "\(op) on a finished transaction", path: environment.path) }
        return txn
    }

    private func check(_ rc: Int32, _ op: String) throws {
        guard rc != 0 else { return }
        if rc == MDB_MAP_FULL { sawMapFull = true }
        throw LMDBError(rc, op, path: environment.path)
    }

    /// True once committed or aborted; later operations throw.
    public var isFinished: Bool { txn == nil }

    /// Commits now. `read` / `write` commit when their closure returns, so this is only needed
    /// to end a transaction early.
    public func commit() throws {
        let t = try live("commit")
        txn = nil  // mdb_txn_commit frees the handle even when it fails
        try check(mdb_txn_commit(t), "mdb_txn_commit")
    }

    /// Discards the transaction; harmless when already finished.
    public func abort() {
        if let t = txn { mdb_txn_abort(t) }
        txn = nil
    }

    public func openDatabase(_ name: String, create: Bool) throws -> MDB_dbi {
        var dbi: MDB_dbi = 0
        try check(mdb_dbi_open(try live("mdb_dbi_open"), name, create ? UInt32(MDB_CREATE) : 0, &dbi),
                  "mdb_dbi_open(\(name))")
        return dbi
    }

    /// Number of entries in `db` (from the B-tree header, no scan).
    public func count(_ db: MDB_dbi) throws -> Int {
        var stat = MDB_stat()
        try check(mdb_stat(try live("mdb_stat"), db, &stat), "mdb_stat")
        return Int(stat.ms_entries)
    }

    /// The value stored under `key`, or nil when absent.
    public func get(_ db: MDB_dbi, _ key: [UInt8]) throws -> [UInt8]? {
        let t = try live("get")
        return try key.withUnsafeBytes { k in
            var kv = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
            var value = MDB_val()
            let rc = mdb_get(t, db, &kv, &value)
            if rc == MDB_NOTFOUND { return nil }
            try check(rc, "mdb_get")
            return Self.bytes(value)
        }
    }

    /// Stores `value` under `key`. With `noOverwrite`, an existing key is left alone and the
    /// call returns false; otherwise it returns true.
    @discardableResult
    public func put(_ db: MDB_dbi, _ key: [UInt8], _ value: [UInt8], noOverwrite: Bool = false) throws -> Bool {
        let t = try live("put")
        return try key.withUnsafeBytes { k in
            try value.withUnsafeBytes { v in
                var kv = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
                var vv = MDB_val(mv_size: v.count, mv_data: UnsafeMutableRawPointer(mutating: v.baseAddress))
                let rc = mdb_put(t, db, &kv, &vv, noOverwrite ? UInt32(MDB_NOOVERWRITE) : 0)
                if rc == MDB_KEYEXIST && noOverwrite { return false }
                try check(rc, "mdb_put")
                return true
            }
        }
    }

    /// Deletes `key`; returns whether it existed.
    @discardableResult
    public func delete(_ db: MDB_dbi, _ key: [UInt8]) throws -> Bool {
        let t = try live("delete")
        return try key.withUnsafeBytes { k in
            var kv = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
            let rc = mdb_del(t, db, &kv, nil)
            if rc == MDB_NOTFOUND { return false }
            try check(rc, "mdb_del")
            return true
        }
    }

    /// Visits entries in key order (bytewise), starting at the first key ≥ `from` (or the
    /// first key). `body` returns false to stop early.
    public func forEach(_ db: MDB_dbi, from start: [UInt8]? = nil,
                        _ body: ([UInt8], [UInt8]) throws -> Bool) throws {
        let t = try live("cursor")
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(t, db, &cursor), "mdb_cursor_open")
        defer { mdb_cursor_close(cursor) }
        var key = MDB_val(), value = MDB_val()
        var rc: Int32
        if let start {
            rc = start.withUnsafeBytes { s in
                key = MDB_val(mv_size: s.count, mv_data: UnsafeMutableRawPointer(mutating: s.baseAddress))
                return mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE)
            }
        } else {
            rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST)
        }
        while rc == 0 {
            guard try body(Self.bytes(key), Self.bytes(value)) else { return }
            rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)
        }
        if rc != MDB_NOTFOUND { try check(rc, "mdb_cursor_get") }
    }

    /// Copies out of the map: LMDB memory is only valid until the transaction ends.
    private static func bytes(_ v: MDB_val) -> [UInt8] {
        guard v.mv_size > 0, let p = v.mv_data else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: v.mv_size))
    }
}

extension LMDBEnvironment {
    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
    /// What LMDB's lock file takes with its default 126 reader slots (it sizes the file itself
    /// when smaller, and takes a larger one as it is).
    static let lockFileSize = 8192

    /// The errno values of a file or file system this user may not write.
    static func deniesWriting(_ code: Int32) -> Bool { code == EACCES || code == EROFS || code == EPERM }

    /// An environment handle created, sized and opened at `path`; on failure the handle is
    /// closed and the error names the call that failed.
    static func openHandle(_ path: String, flags: UInt32, mapSize: Int, maxDatabases: Int) -> Result<OpaquePointer, LMDBError> {
        var created: OpaquePointer?
        var rc = mdb_env_create(&created)
        guard rc == 0, let handle = created else { return .failure(LMDBError(rc, "mdb_env_create", path: path)) }
        func fail(_ op: String) -> Result<OpaquePointer, LMDBError> {
            mdb_env_close(handle)
            return .failure(LMDBError(rc, op, path: path))
        }
        rc = mdb_env_set_mapsize(handle, max(mapSize, 16 << 10))
        if rc != 0 { return fail("mdb_env_set_mapsize") }
        rc = mdb_env_set_maxdbs(handle, MDB_dbi(maxDatabases))
        if rc != 0 { return fail("mdb_env_set_maxdbs") }
        rc = mdb_env_open(handle, path, flags, 0o644)
        if rc != 0 { return fail("mdb_env_open") }
        return .success(handle)
    }

    /// A new library's data.mdb appears whole or not at all: LMDB writes its two meta pages into
    /// a temporary file beside it (MDB_NOSUBDIR: the file is the environment; MDB_NOLOCK: no one
    /// else can see it, so it needs no lock file), and link(2) gives
    /// it the name only if nothing has it yet (a concurrent creator's library is kept). A full
    /// disk leaves no data.mdb behind, so the next command, once there is space, creates the
    /// library afresh instead of finding a one-page file it must refuse as damaged.
    static func createDataFile(_ dataFile: String, in directory: String) throws {
        let temporary = (directory as NSString).appendingPathComponent(".data.mdb.creating-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        defer { unlink(temporary) }
        let handle: OpaquePointer
        switch openHandle(temporary, flags: UInt32(MDB_NOSUBDIR | MDB_NOTLS | MDB_NOLOCK), mapSize: 0, maxDatabases: 0) {
        case .success(let h): handle = h
        case .failure(let e): throw LMDBError(e.code, "create data.mdb", path: directory)
        }
        // Both meta pages on disk before the file takes its name.
        let rc = mdb_env_sync(handle, 1)
        mdb_env_close(handle)
        if rc != 0 { throw LMDBError(rc, "create data.mdb", path: directory) }
        if link(temporary, dataFile) != 0 && errno != EEXIST { throw LMDBError(errno, "create data.mdb", path: directory) }
    }

    /// Gives lock.mdb its blocks before LMDB maps it: LMDB sizes the lock file with ftruncate,
    /// which allocates nothing, and its first store into the mapping then dies of SIGBUS on a
    /// full disk. posix_fallocate reports ENOSPC instead.
    static func reserveLockFile(_ lockFile: String, in directory: String) throws {
        let fd = open(lockFile, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0 {
            // Not ours to write (another user's library, read-only media): LMDB says so itself.
            if deniesWriting(errno) { return }
            throw LMDBError(errno, "create lock.mdb", path: directory)
        }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) == 0 && info.st_size >= lockFileSize && info.st_blocks * 512 >= lockFileSize { return }
        let rc = posix_fallocate(fd, 0, off_t(lockFileSize))
        if rc != 0 && rc != EOPNOTSUPP && rc != EINVAL { throw LMDBError(rc, "create lock.mdb", path: directory) }
    }
}

/// Free space of the file system that holds a path (or its nearest existing parent).
public enum DiskSpace {
    /// Bytes available to this user, nil when the file system cannot be asked.
    public static func available(at path: String) -> UInt64? {
        var p = path
        while !p.isEmpty {
            var info = statvfs()
            if statvfs(p, &info) == 0 { return UInt64(info.f_bavail) * UInt64(info.f_frsize) }
            let parent = (p as NSString).deletingLastPathComponent
            if parent == p { break }
            p = parent
        }
        return nil
    }

    /// Under 1 MiB free: a failed write there is the disk being full.
    public static func isNearlyFull(_ path: String) -> Bool {
        guard let free = available(at: path) else { return false }
        return free < 1 << 20
    }
}

/// `mkdir -p`. On failure returns the errno and the component that failed, so callers can
/// report EACCES / EROFS / "is a file" precisely; nil on success.
func makeDirectories(_ path: String) -> (code: Int32, path: String)? {
    var isDir: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
        return isDir.boolValue ? nil : (ENOTDIR, path)
    }
    let parent = (path as NSString).deletingLastPathComponent
    if !parent.isEmpty, parent != path, let failure = makeDirectories(parent) { return failure }
    if mkdir(path, 0o755) != 0 && errno != EEXIST { return (errno, path) }
    return nil
}

extension LMDBEnvironment {
    /// liblmdb's version string, e.g. "LMDB 0.9.24: (July 24, 2019)".
    public static var version: String { String(cString: mdb_version(nil, nil, nil)) }
}
